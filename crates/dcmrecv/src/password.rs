//! `+ps`: the private key's password, asked for as OpenSSL asks (`Enter PEM pass phrase:`).

use std::io::{self, BufRead, IsTerminal, Write};

/// Asks on the terminal without echo; when stdin is not a terminal, the prompt goes to stderr
/// and the password is the first line of stdin. `dcmrecv-tls` calls this only for an encrypted
/// key.
pub(crate) fn prompt() -> io::Result<String> {
    const PROMPT: &str = "Enter PEM pass phrase:";
    if io::stdin().is_terminal() {
        return rpassword::prompt_password(PROMPT);
    }
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_all(PROMPT.as_bytes());
    let _ = stderr.flush();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    let _ = stderr.write_all(b"\n");
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
