//! Current-listings readers (`--current`): JSON, YAML, CSV, Amazon's All Listings report.
