//! The local SP-API sandbox (`allot sandbox`), for rehearsal and end-to-end tests.
