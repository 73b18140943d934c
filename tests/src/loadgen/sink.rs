//! A discarding Storage SCP: the cheapest receiver that still speaks DICOM, to measure the load
//! generator's own ceiling. It accepts every proposed presentation context (first transfer
//! syntax), answers an Asynchronous Operations Window when configured to, reads each P-DATA-TF
//! PDU into one buffer, throws the data sets away and answers every C-STORE-RQ (and C-ECHO-RQ).
//! One thread per association; nothing is written to disk.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use dicom_ul::pdu::{
    AssociationAC, MAXIMUM_PDU_SIZE, Pdu, PresentationContextResult,
    PresentationContextResultReason, UserVariableItem, read_pdu, write_pdu,
};

use super::conn::command_us;
use crate::raw::{command, p_data, parse_command, pdv, text, uid_value};

/// How the discarding SCP behaves.
#[derive(Debug, Clone, Copy)]
pub struct SinkOptions {
    /// The Maximum Length it announces (DCMTK's and our default: 16384).
    pub max_pdu: u32,
    /// Answer a proposed Asynchronous Operations Window, performing up to this many
    /// operations at once (0 = unlimited); `None`: ignore the proposal (synchronous).
    pub window: Option<u16>,
    /// Answer every n-th C-STORE-RQ of an association with 0xA700 (Out of Resources), to
    /// check that a sender counts failures.
    pub fail_every: Option<u64>,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            max_pdu: 16384,
            window: None,
            fail_every: None,
        }
    }
}

/// Binds `127.0.0.1:0` and serves on a background thread for the rest of the process (for
/// tests); returns the address.
///
/// ```no_run
/// use dcmrecv_e2e::loadgen::{SinkOptions, spawn_sink};
/// let addr = spawn_sink(SinkOptions::default())?;
/// assert!(addr.port() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn spawn_sink(options: SinkOptions) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || serve_sink(&listener, options));
    Ok(addr)
}

/// Accepts associations on `listener` until accepting fails, each on its own thread.
pub fn serve_sink(listener: &TcpListener, options: SinkOptions) -> io::Error {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                std::thread::spawn(move || {
                    let _ = association(stream, options);
                });
            }
            Err(e) => return e,
        }
    }
}

/// The state of the one DIMSE message being received.
struct Message {
    command: Vec<u8>,
    /// A complete C-STORE-RQ waiting for the end of its data set: (message ID, SOP class,
    /// SOP instance, presentation context).
    store: Option<(u16, String, String, u8)>,
    stores: u64,
}

fn association(mut stream: TcpStream, options: SinkOptions) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; options.max_pdu as usize + (256 << 10)];
    let mut len = 0;
    let mut established = false;
    let mut msg = Message {
        command: Vec::new(),
        store: None,
        stores: 0,
    };
    loop {
        if len == buf.len() {
            return Err(io::Error::other("a PDU larger than our maximum"));
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(());
        }
        len += n;
        let mut pos = 0;
        while len - pos >= 6 {
            let h = &buf[pos..pos + 6];
            let pdu_len = u32::from_be_bytes([h[2], h[3], h[4], h[5]]) as usize;
            if len - pos < 6 + pdu_len {
                break;
            }
            let pdu = &buf[pos..pos + 6 + pdu_len];
            pos += 6 + pdu_len;
            match pdu[0] {
                0x04 if established => on_p_data(&pdu[6..], &mut msg, &mut stream, options)?,
                0x01 if !established => {
                    let Ok(Some(Pdu::AssociationRQ(rq))) = read_pdu(pdu, MAXIMUM_PDU_SIZE, false)
                    else {
                        return Err(io::Error::other("an unreadable A-ASSOCIATE-RQ"));
                    };
                    let mut user_variables = vec![
                        UserVariableItem::MaxLength(options.max_pdu),
                        UserVariableItem::ImplementationClassUID(
                            "1.2.826.0.1.3680043.10.1145.62".into(),
                        ),
                        UserVariableItem::ImplementationVersionName("DCMRECV_NULLSCP".into()),
                    ];
                    if let Some(limit) = options.window {
                        let proposed = rq.user_variables.iter().find_map(|u| match u {
                            UserVariableItem::Unknown(0x53, v) if v.len() == 4 => {
                                Some(u16::from_be_bytes([v[0], v[1]]))
                            }
                            _ => None,
                        });
                        if let Some(invoked) = proposed {
                            let performed = match (invoked, limit) {
                                (0, l) => l,
                                (i, 0) => i,
                                (i, l) => i.min(l),
                            };
                            let mut v = 1u16.to_be_bytes().to_vec();
                            v.extend_from_slice(&performed.to_be_bytes());
                            user_variables.push(UserVariableItem::Unknown(0x53, v));
                        }
                    }
                    let ac = AssociationAC {
                        protocol_version: 1,
                        calling_ae_title: rq.calling_ae_title.clone(),
                        called_ae_title: rq.called_ae_title.clone(),
                        application_context_name: rq.application_context_name.clone(),
                        presentation_contexts: rq
                            .presentation_contexts
                            .iter()
                            .map(|p| PresentationContextResult {
                                id: p.id,
                                reason: PresentationContextResultReason::Acceptance,
                                transfer_syntax: p
                                    .transfer_syntaxes
                                    .first()
                                    .cloned()
                                    .unwrap_or_default(),
                            })
                            .collect(),
                        user_variables,
                    };
                    send_pdu(&mut stream, &Pdu::AssociationAC(ac))?;
                    established = true;
                }
                0x05 => {
                    send_pdu(&mut stream, &Pdu::ReleaseRP)?;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        buf.copy_within(pos..len, 0);
        len -= pos;
    }
}

fn on_p_data(
    mut body: &[u8],
    msg: &mut Message,
    stream: &mut TcpStream,
    options: SinkOptions,
) -> io::Result<()> {
    while body.len() >= 6 {
        let len = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
        let (pc, flags) = (body[4], body[5]);
        let Some(value) = body.get(6..4 + len).filter(|_| len >= 2) else {
            return Err(io::Error::other("a malformed PDV"));
        };
        body = &body[4 + len..];
        let last = flags & 0x02 != 0;
        if flags & 0x01 != 0 {
            msg.command.extend_from_slice(value);
            if !last {
                continue;
            }
            let cmd = std::mem::take(&mut msg.command);
            let elements = parse_command(&cmd);
            let message_id = command_us(&cmd, 0x0110).unwrap_or(0);
            let sop_class = text(&elements, 0x0002).unwrap_or_default();
            match command_us(&cmd, 0x0100) {
                Some(0x0030) => respond(stream, pc, 0x8030, message_id, &sop_class, None, 0)?,
                Some(0x0001) => {
                    let instance = text(&elements, 0x1000).unwrap_or_default();
                    msg.store = Some((message_id, sop_class, instance, pc));
                }
                _ => return Err(io::Error::other("a command we do not serve")),
            }
        } else if last {
            let Some((message_id, sop_class, instance, pc)) = msg.store.take() else {
                return Err(io::Error::other("a data set without a C-STORE-RQ"));
            };
            msg.stores += 1;
            let status = match options.fail_every {
                Some(k) if k > 0 && msg.stores.is_multiple_of(k) => 0xA700,
                _ => 0x0000,
            };
            respond(
                stream,
                pc,
                0x8001,
                message_id,
                &sop_class,
                Some(&instance),
                status,
            )?;
        }
    }
    Ok(())
}

fn respond(
    stream: &mut TcpStream,
    pc: u8,
    command_field: u16,
    message_id: u16,
    sop_class: &str,
    instance: Option<&str>,
    status: u16,
) -> io::Result<()> {
    let mut elements = vec![
        (0x0002, uid_value(sop_class)),
        (0x0100, command_field.to_le_bytes().to_vec()),
        (0x0120, message_id.to_le_bytes().to_vec()),
        (0x0800, 0x0101u16.to_le_bytes().to_vec()),
        (0x0900, status.to_le_bytes().to_vec()),
    ];
    if let Some(uid) = instance {
        elements.push((0x1000, uid_value(uid)));
    }
    stream.write_all(&p_data(&[pdv(pc, 0x03, &command(&elements))]))
}

fn send_pdu(stream: &mut TcpStream, pdu: &Pdu) -> io::Result<()> {
    let mut v = Vec::new();
    write_pdu(&mut v, pdu).map_err(|e| io::Error::other(e.to_string()))?;
    stream.write_all(&v)
}
