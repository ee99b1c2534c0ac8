//! `allot lsp`: a language server over stdio. It answers with what the CLI computes (check's
//! diagnostics, fmt's output, the parser's names and the marketplace table) and keeps no logic
//! of its own about the language.
//!
//! Exit code, as the LSP spec says: 0 after `shutdown` then `exit`, 1 on `exit` without
//! `shutdown` (or when the client goes away without either).

mod diagnostics;
mod features;
mod keywords;
mod names;
mod position;
mod transport;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, Formatting, GotoDefinition, HoverRequest, Initialize, Request as _, Shutdown,
};
use lsp_types::{
    CompletionOptions, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, DocumentFormattingParams,
    GotoDefinitionParams, GotoDefinitionResponse, HoverParams, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, SaveOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, TextEdit, Uri,
};
use serde_json::Value;

use crate::cli::Exit;
use features::Doc;
use position::LineMap;

pub fn run() -> ExitCode {
    let (conn, transport) = transport::stdio();
    let code = Server::default().serve(&conn);
    // Every answer is written before the process ends.
    drop(conn);
    transport.finish();
    ExitCode::from(code)
}

#[derive(Default)]
struct Server {
    /// Open documents' full text, by URI (full sync: each change sends the whole text).
    docs: HashMap<Uri, String>,
    initialized: bool,
    shutdown: bool,
}

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..Default::default()
            },
        )),
        document_formatting_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        ..Default::default()
    }
}

impl Server {
    /// The message loop; returns how the process ends.
    fn serve(&mut self, conn: &Connection) -> Exit {
        for msg in &conn.receiver {
            match msg {
                Message::Request(req) => {
                    let resp = self.request(conn, req);
                    if conn.sender.send(resp.into()).is_err() {
                        return Exit::Failed;
                    }
                }
                Message::Notification(n) if n.method == "exit" => {
                    return if self.shutdown {
                        Exit::Ok
                    } else {
                        Exit::Failed
                    };
                }
                Message::Notification(n) => {
                    if self.initialized && !self.shutdown {
                        self.notification(conn, n);
                    }
                }
                // The server sends no requests, so there is no answer to wait for.
                Message::Response(_) => {}
            }
        }
        // The client closed the stream without `exit`.
        Exit::Failed
    }

    fn request(&mut self, conn: &Connection, req: Request) -> Response {
        let id = req.id.clone();
        let method = req.method.clone();
        if method == Initialize::METHOD {
            if self.initialized {
                return err(id, ErrorCode::InvalidRequest, "initialize was already sent");
            }
            self.initialized = true;
            let result = lsp_types::InitializeResult {
                capabilities: capabilities(),
                server_info: Some(ServerInfo {
                    name: "allot".to_string(),
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                }),
            };
            return ok(id, result);
        }
        if !self.initialized {
            return err(id, ErrorCode::ServerNotInitialized, "initialize first");
        }
        if self.shutdown {
            return err(id, ErrorCode::InvalidRequest, "the server is shutting down");
        }
        // A bug in a handler answers that request with an error; the session goes on.
        match catch_unwind(AssertUnwindSafe(|| self.dispatch(conn, req))) {
            Ok(resp) => resp,
            Err(_) => err(
                id,
                ErrorCode::InternalError,
                &format!("internal error while answering {method}"),
            ),
        }
    }

    fn dispatch(&mut self, _conn: &Connection, req: Request) -> Response {
        let id = req.id.clone();
        match req.method.as_str() {
            Shutdown::METHOD => {
                self.shutdown = true;
                ok(id, Value::Null)
            }
            Formatting::METHOD => match params::<DocumentFormattingParams>(&req) {
                Ok(p) => ok(id, self.format(&p.text_document.uri)),
                Err(e) => err(id, ErrorCode::InvalidParams, &e),
            },
            HoverRequest::METHOD => match params::<HoverParams>(&req) {
                Ok(p) => {
                    let at = p.text_document_position_params;
                    let hover = self
                        .doc(&at.text_document.uri)
                        .and_then(|d| d.hover(at.position));
                    ok(id, hover)
                }
                Err(e) => err(id, ErrorCode::InvalidParams, &e),
            },
            GotoDefinition::METHOD => match params::<GotoDefinitionParams>(&req) {
                Ok(p) => {
                    let at = p.text_document_position_params;
                    let loc = self
                        .doc(&at.text_document.uri)
                        .and_then(|d| d.definition(at.position))
                        .map(GotoDefinitionResponse::Scalar);
                    ok(id, loc)
                }
                Err(e) => err(id, ErrorCode::InvalidParams, &e),
            },
            Completion::METHOD => match params::<lsp_types::CompletionParams>(&req) {
                Ok(p) => {
                    let uri = p.text_document_position.text_document.uri;
                    let items = self.doc(&uri).map(|d| d.completion());
                    ok(id, items)
                }
                Err(e) => err(id, ErrorCode::InvalidParams, &e),
            },
            m => err(
                id,
                ErrorCode::MethodNotFound,
                &format!("unknown method {m}"),
            ),
        }
    }

    fn doc<'a>(&'a self, uri: &'a Uri) -> Option<Doc<'a>> {
        self.docs.get(uri).map(|text| Doc::new(uri, text))
    }

    /// The formatter's output as one edit of the whole document; none when it is already
    /// canonical; null when it does not format (a syntax error: never a guess).
    fn format(&self, uri: &Uri) -> Option<Vec<TextEdit>> {
        let text = self.docs.get(uri)?;
        let out = crate::fmt::format(text).ok()?;
        if out == *text {
            return Some(Vec::new());
        }
        Some(vec![TextEdit::new(LineMap::new(text).whole(), out)])
    }

    fn notification(&mut self, conn: &Connection, n: Notification) {
        // A notification has no answer: one with bad parameters is dropped (noted on stderr).
        let result = catch_unwind(AssertUnwindSafe(|| self.notify(conn, n)));
        if result.is_err() {
            eprintln!("allot lsp: internal error while handling a notification");
        }
    }

    fn notify(&mut self, conn: &Connection, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Some(p) = note::<DidOpenTextDocumentParams>(n) {
                    let uri = p.text_document.uri;
                    self.docs.insert(uri.clone(), p.text_document.text);
                    self.publish(conn, &uri);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Some(p) = note::<DidChangeTextDocumentParams>(n) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.into_iter().last() {
                        let uri = p.text_document.uri;
                        self.docs.insert(uri.clone(), change.text);
                        self.publish(conn, &uri);
                    }
                }
            }
            DidSaveTextDocument::METHOD => {
                if let Some(p) = note::<DidSaveTextDocumentParams>(n) {
                    let uri = p.text_document.uri;
                    if let Some(text) = p.text {
                        self.docs.insert(uri.clone(), text);
                    }
                    if self.docs.contains_key(&uri) {
                        self.publish(conn, &uri);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Some(p) = note::<DidCloseTextDocumentParams>(n) {
                    let uri = p.text_document.uri;
                    self.docs.remove(&uri);
                    send_diagnostics(conn, uri, Vec::new());
                }
            }
            // `initialized`, `$/cancelRequest`, settings changes, …: nothing to do.
            _ => {}
        }
    }

    fn publish(&self, conn: &Connection, uri: &Uri) {
        let Some(text) = self.docs.get(uri) else {
            return;
        };
        let name = uri.as_str();
        let diags = diagnostics::check(name, text);
        send_diagnostics(conn, uri.clone(), diagnostics::to_lsp(uri, text, &diags));
    }
}

fn send_diagnostics(conn: &Connection, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) {
    let params = PublishDiagnosticsParams {
        uri,
        diagnostics,
        version: None,
    };
    let _ = conn.sender.send(Message::Notification(Notification::new(
        PublishDiagnostics::METHOD.to_string(),
        params,
    )));
}

/// A request's parameters, or why they are not what its method takes.
fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, String> {
    serde_json::from_value(req.params.clone())
        .map_err(|e| format!("invalid parameters for {}: {e}", req.method))
}

fn note<P: serde::de::DeserializeOwned>(n: Notification) -> Option<P> {
    match serde_json::from_value(n.params) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("allot lsp: ignored {}: invalid parameters: {e}", n.method);
            None
        }
    }
}

fn ok(id: RequestId, result: impl serde::Serialize) -> Response {
    match serde_json::to_value(result) {
        Ok(v) => Response {
            id,
            response_result: Ok(v),
        },
        Err(e) => err(id, ErrorCode::InternalError, &e.to_string()),
    }
}

fn err(id: RequestId, code: ErrorCode, message: &str) -> Response {
    Response::new_err(id, code as i32, message.to_string())
}
