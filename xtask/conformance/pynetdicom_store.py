"""Send one file with pynetdicom and print the C-STORE status (used by `cargo xtask conformance`).

usage: pynetdicom_store.py HOST PORT FILE
Prints one line: the status as 4 hex digits, or `rejected`, `no-context`, `aborted`, `unreadable`.
"""
import sys

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    ds = dcmread(path)
    sop_class = ds.SOPClassUID
    ts = ds.file_meta.TransferSyntaxUID
except Exception:  # the client cannot read it: same outcome for every receiver
    print("unreadable")
    sys.exit(0)
ae = AE(ae_title="PYNETDICOM")
ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
syntaxes = [ts] + [t for t in (ExplicitVRLittleEndian, ImplicitVRLittleEndian) if t != ts]
ae.add_requested_context(sop_class, syntaxes)
# pynetdicom 3.0.4 races with a fast A-ASSOCIATE-RJ: when its reader thread closes the socket
# before the main thread checks it, `associate()` reports an abort although the RJ arrived. So
# the received PDU itself is the evidence of a rejection.
rejections = []
def on_pdu(event):
    if type(event.pdu).__name__ == "A_ASSOCIATE_RJ":
        rejections.append(event.pdu)
assoc = ae.associate(host, port, ae_title="ANY-SCP", evt_handlers=[(evt.EVT_PDU_RECV, on_pdu)])
if assoc.is_rejected or rejections:
    print("rejected")
elif not assoc.is_established:
    print("aborted")
elif not assoc.accepted_contexts:
    print("no-context")
    assoc.abort()
else:
    try:
        status = assoc.send_c_store(ds)
    except Exception:
        status = None
    if status is not None and "Status" in status:
        print(f"{status.Status:04X}")
    else:
        print("aborted")
    if assoc.is_established:
        assoc.release()
