//! `allot lsp` as an editor drives it: JSON-RPC with Content-Length framing over the real
//! binary's stdin and stdout. Every wait has a timeout, so a hung server fails the test instead
//! of hanging CI.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

mod common;

const TIMEOUT: Duration = Duration::from_secs(10);
const URI: &str = "file:///tmp/allot-lsp-test/policy.allot";

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    /// Notifications read while waiting for a response, in order.
    pending: Vec<Value>,
    next_id: i64,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_allot"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start allot lsp");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(msg) = read_frame(&mut r) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Server {
            child,
            stdin,
            messages: rx,
            pending: Vec::new(),
            next_id: 1,
        }
    }

    /// Started and initialized, with the capabilities it advertised.
    fn initialized() -> (Server, Value) {
        let mut s = Server::start();
        let result = s.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        s.notify("initialized", json!({}));
        let caps = result["result"]["capabilities"].clone();
        assert!(caps.is_object(), "{result}");
        (s, caps)
    }

    fn send_raw(&mut self, body: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        let msg = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.send_raw(&msg.to_string());
    }

    /// Send a request and wait for its response (the whole message: `result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_raw(&msg.to_string());
        loop {
            let m = self.recv();
            if m.get("method").is_some() {
                self.pending.push(m);
            } else if m["id"] == json!(id) {
                return m;
            }
        }
    }

    fn recv(&mut self) -> Value {
        match self.messages.recv_timeout(TIMEOUT) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in {TIMEOUT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// The next notification of this method (earlier ones of other methods are skipped).
    fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|m| m["method"] == method) {
            return self.pending.remove(i);
        }
        loop {
            let m = self.recv();
            if m["method"] == method {
                return m;
            }
        }
    }

    fn open(&mut self, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": URI, "languageId": "allot", "version": 1, "text": text
            }}),
        );
        self.notification("textDocument/publishDiagnostics")["params"].clone()
    }

    fn at(&mut self, method: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({
                "textDocument": { "uri": URI },
                "position": { "line": line, "character": character },
            }),
        )
    }

    /// Shut down and exit as the spec says; the exit code.
    fn shutdown(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        self.wait()
    }

    fn wait(mut self) -> i32 {
        drop(self.stdin.take());
        // On a timeout, Drop kills the server.
        let status = common::wait_for("the server to exit", TIMEOUT, || {
            self.child.try_wait().unwrap()
        });
        status.code().unwrap_or(-1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave the server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_frame(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// `share 150%` is out of range; the string before it on that line has an `é` (2 bytes, one
/// UTF-16 unit) and an emoji (4 bytes, two UTF-16 units).
const BROKEN: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\nrule \"all\" {\n  match any\n  publish US as \"{sku}-é😀\" share 150%\n}\n";
const FIXED: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\nrule \"all\" {\n  match any\n  publish US as \"{sku}-é😀\" share 50%\n}\n";

const NAMED: &str = "policy \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\n\nlocation newark supply_source \"353e4e48-6301-4d50-990e-43a86e8787a3\"\nlocation toronto\n\nrule \"all\" {\n  match any\n  stock from newark, toronto\n  publish US\n}\n";

#[test]
fn initialize_advertises_what_the_server_does_and_shutdown_exits_0() {
    let (s, caps) = Server::initialized();
    assert_eq!(caps["textDocumentSync"]["change"], 1, "{caps}"); // FULL
    assert_eq!(caps["textDocumentSync"]["openClose"], true, "{caps}");
    assert_eq!(caps["documentFormattingProvider"], true, "{caps}");
    assert_eq!(caps["hoverProvider"], true, "{caps}");
    assert_eq!(caps["definitionProvider"], true, "{caps}");
    assert!(caps["completionProvider"].is_object(), "{caps}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn diagnostics_as_you_type_with_utf16_columns() {
    let (mut s, _) = Server::initialized();
    let p = s.open(BROKEN);
    assert_eq!(p["uri"], URI);
    let diags = p["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{p}");
    let d = &diags[0];
    assert_eq!(d["code"], "allot::percent-range", "{d}");
    assert_eq!(d["source"], "allot");
    assert_eq!(d["severity"], 1); // error
    // `  publish US as "{sku}-é😀" share ` is 33 characters, 38 bytes and 34 UTF-16 units.
    assert_eq!(
        d["range"],
        json!({ "start": { "line": 6, "character": 34 }, "end": { "line": 6, "character": 38 } })
    );
    assert!(d["message"].as_str().unwrap().contains("\nhelp: "), "{d}");

    s.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": URI, "version": 2 },
            "contentChanges": [{ "text": FIXED }],
        }),
    );
    let p = s.notification("textDocument/publishDiagnostics")["params"].clone();
    assert_eq!(p["diagnostics"], json!([]), "{p}");

    // Saved with the broken text again, then closed: diagnostics back, then cleared.
    s.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": URI }, "text": BROKEN }),
    );
    let p = s.notification("textDocument/publishDiagnostics")["params"].clone();
    assert_eq!(p["diagnostics"].as_array().unwrap().len(), 1, "{p}");
    s.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": URI } }),
    );
    let p = s.notification("textDocument/publishDiagnostics")["params"].clone();
    assert_eq!(p["diagnostics"], json!([]), "{p}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_syntax_error_is_a_diagnostic_too() {
    let (mut s, _) = Server::initialized();
    let p = s.open("policy \"p\"\nrule \"x\" {\n  cap 10 once\n}\n");
    let diags = p["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty(), "{p}");
    assert!(
        diags
            .iter()
            .all(|d| d["code"].as_str().unwrap().starts_with("allot::")),
        "{p}"
    );
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn formatting_returns_the_canonical_text() {
    let (mut s, _) = Server::initialized();
    let messy = "policy   \"p\"\nseller \"A1PP0FEH11RW77\"\nmarketplaces US\nrule \"all\" {\nmatch any\n     publish US\n}";
    s.open(messy);
    let r = s.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let edits = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(edits.len(), 1, "{r}");
    let canonical = allot::fmt::format(messy).unwrap();
    assert_eq!(edits[0]["newText"], canonical.as_str());
    assert_eq!(
        edits[0]["range"],
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 6, "character": 1 } })
    );

    // Already canonical: no edit. Not parsing: null, never a guess.
    s.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 2 }, "contentChanges": [{ "text": canonical }] }),
    );
    let r = s.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(r["result"], json!([]), "{r}");
    s.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": URI, "version": 3 }, "contentChanges": [{ "text": "rule {{{" }] }),
    );
    let r = s.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(r["result"], Value::Null, "{r}");
    assert!(r.get("error").is_none(), "{r}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn hover_on_a_keyword_a_marketplace_and_a_location() {
    let (mut s, _) = Server::initialized();
    s.open(NAMED);
    // `stock` on line 9.
    let r = s.at("textDocument/hover", 9, 3);
    let md = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(r["result"]["contents"]["kind"], "markdown");
    assert!(md.contains("stock from"), "{md}");
    assert!(md.contains("docs/language.md"), "{md}");
    assert_eq!(
        r["result"]["range"],
        json!({ "start": { "line": 9, "character": 2 }, "end": { "line": 9, "character": 7 } })
    );
    // `US` in `marketplaces US`.
    let r = s.at("textDocument/hover", 2, 13);
    let md = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(md.contains("ATVPDKIKX0DER"), "{md}");
    assert!(md.contains("United States"), "{md}");
    assert!(md.contains("NA"), "{md}");
    // `toronto` in `stock from newark, toronto`: its declaration.
    let r = s.at("textDocument/hover", 9, 22);
    let md = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(md.contains("location toronto"), "{md}");
    let r = s.at("textDocument/hover", 9, 14);
    let md = r["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        md.contains("location newark supply_source \"353e4e48"),
        "{md}"
    );
    // Inside a string, on a blank: nothing.
    let r = s.at("textDocument/hover", 0, 8);
    assert_eq!(r["result"], Value::Null, "{r}");
    let r = s.at("textDocument/hover", 3, 0);
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn definition_of_a_location_is_its_declaration() {
    let (mut s, _) = Server::initialized();
    s.open(NAMED);
    let r = s.at("textDocument/definition", 9, 23);
    assert_eq!(r["result"]["uri"], URI, "{r}");
    assert_eq!(
        r["result"]["range"],
        json!({ "start": { "line": 5, "character": 9 }, "end": { "line": 5, "character": 16 } })
    );
    // A keyword has none.
    let r = s.at("textDocument/definition", 9, 3);
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn completion_offers_keywords_marketplaces_and_locations() {
    let (mut s, _) = Server::initialized();
    // A line being typed does not parse; the declared locations still complete.
    let typing = NAMED.replace("  publish US\n", "  publish US from \n");
    s.open(&typing);
    let r = s.at("textDocument/completion", 10, 19);
    let items = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    let label = |l: &str| items.iter().find(|i| i["label"] == l).cloned();
    let us = label("US").expect("US");
    assert!(
        us["detail"].as_str().unwrap().contains("United States"),
        "{us}"
    );
    assert!(
        label("newark").is_some() && label("toronto").is_some(),
        "{r}"
    );
    assert!(
        label("publish").is_some() && label("default_channel").is_some(),
        "{r}"
    );
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn unknown_methods_and_bad_messages_do_not_stop_the_server() {
    let (mut s, _) = Server::initialized();
    let r = s.request("textDocument/references", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}"); // MethodNotFound
    let r = s.request("textDocument/hover", json!({ "nonsense": true }));
    assert_eq!(r["error"]["code"], -32602, "{r}"); // InvalidParams
    let r = s.request("textDocument/hover", Value::Null);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // A frame that is no JSON, and a notification with bad parameters: skipped.
    s.send_raw("{this is not json");
    s.notify("textDocument/didOpen", json!({ "textDocument": 5 }));
    // A hover on a document never opened, and a position far outside one.
    let r = s.at("textDocument/hover", 0, 0);
    assert_eq!(r["result"], Value::Null, "{r}");
    s.open(NAMED);
    let r = s.at("textDocument/hover", 4000, 4000);
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn exit_without_shutdown_exits_1() {
    let (mut s, _) = Server::initialized();
    s.notify("exit", Value::Null);
    assert_eq!(s.wait(), 1);
}

#[test]
fn requests_before_initialize_are_refused() {
    let mut s = Server::start();
    let r = s.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}"); // ServerNotInitialized
    let r = s.request("initialize", json!({ "capabilities": {} }));
    assert!(r["result"]["capabilities"].is_object(), "{r}");
    assert_eq!(s.shutdown(), 0);
}
