"""Send one file with pynetdicom and print the C-STORE status (used by `cargo xtask conformance`).

usage: pynetdicom_store.py HOST PORT FILE
Prints one line: the status as 4 hex digits, or `rejected`, `no-context`, `aborted`, `unreadable`.
"""
import sys

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

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
assoc = ae.associate(host, port, ae_title="ANY-SCP")
if assoc.is_rejected:
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
