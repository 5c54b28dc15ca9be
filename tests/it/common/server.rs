//! A tiny HTTP/1.1 server on 127.0.0.1 for download tests: one request per connection, a
//! fixed table of responses.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server sends for a path.
#[derive(Clone)]
pub enum Reply {
    /// A status code with a short text body.
    Status(u16),
    /// 200 with these bytes.
    Body(Vec<u8>),
    /// 200 announcing the full length, but only the first half of the bytes, then closing.
    CutShort(Vec<u8>),
    /// 200 with these bytes, one every [`TRICKLE_INTERVAL`], until the client hangs up.
    Trickle(Vec<u8>),
}

/// How long a [`Reply::Trickle`] waits between two bytes.
pub const TRICKLE_INTERVAL: Duration = Duration::from_millis(100);

/// A server on 127.0.0.1 that answers at most `MAX_CONNECTIONS` connections and stops when
/// dropped. It records every path requested.
pub struct Server {
    base: String,
    requested: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// Bound on the connections one test server answers, so it can never run away.
const MAX_CONNECTIONS: usize = 100;

impl Server {
    pub fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requested = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requested);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming().take(MAX_CONNECTIONS) {
                let Ok(stream) = stream else { continue };
                match request_path(&stream) {
                    Some(path) if path == "/stop" => return,
                    Some(path) => {
                        let reply = routes.get(&path).cloned().unwrap_or(Reply::Status(404));
                        log.lock().unwrap().push(path);
                        let _ = respond(stream, &reply);
                    }
                    None => {}
                }
            }
        });
        Server {
            base,
            requested,
            thread: Some(thread),
        }
    }

    /// The URL of a mirror folder on this server.
    pub fn mirror(&self, folder: &str) -> String {
        format!("{}/{folder}/", self.base)
    }

    pub fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let stop = TcpStream::connect(self.base.trim_start_matches("http://"))
            .and_then(|mut s| s.write_all(b"GET /stop HTTP/1.1\r\n\r\n"));
        if let (Ok(()), Some(thread)) = (stop, self.thread.take()) {
            let _ = thread.join();
        }
    }
}

/// Reads a request head and returns its path.
fn request_path(stream: &TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut first_line = String::new();
    reader.read_line(&mut first_line).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
    }
    first_line.split_whitespace().nth(1).map(String::from)
}

fn respond(mut stream: TcpStream, reply: &Reply) -> std::io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let (status, body, sent) = match reply {
        Reply::Status(code) => (*code, b"failure".to_vec(), 7),
        Reply::Body(bytes) => (200, bytes.clone(), bytes.len()),
        Reply::CutShort(bytes) => (200, bytes.clone(), bytes.len() / 2),
        Reply::Trickle(bytes) => (200, bytes.clone(), 0),
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body[..sent])?;
    stream.flush()?;
    if let Reply::Trickle(bytes) = reply {
        for byte in bytes {
            std::thread::sleep(TRICKLE_INTERVAL);
            stream.write_all(&[*byte])?;
            stream.flush()?;
        }
    }
    Ok(())
}
