"""Propose a fixed set of presentation contexts and print what the acceptor answered
(used by `cargo xtask conformance`).

usage: negotiate.py HOST PORT
"""
import sys

from pynetdicom import AE, build_context, evt

host, port = sys.argv[1], int(sys.argv[2])
LE_EXPL, LE_IMPL, BE = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"
DEFL, J2K, JPEG = "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.50"
CT, MR, USMF = "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.3.1"
SR = "1.2.840.10008.5.1.4.1.1.88.33"
proposed = [
    ("1.2.840.10008.1.1", [LE_IMPL, LE_EXPL]),
    (CT, [LE_EXPL, LE_IMPL, DEFL, BE]),
    (CT, [J2K]),
    (MR, [BE, LE_IMPL]),
    ("1.2.3.4", [LE_IMPL]),
    (USMF, [JPEG]),
    (SR, [LE_IMPL, LE_EXPL]),
    ("1.2.840.10008.1.1", [LE_EXPL]),
]
ae = AE(ae_title="NEGOTIATE")
ae.acse_timeout = ae.network_timeout = 30
ae.requested_contexts = [build_context(a, t) for a, t in proposed]
# pynetdicom 3.0.4 races with a fast A-ASSOCIATE-RJ (it may report an abort although the RJ
# arrived), so the rejection is taken from the received PDU itself.
rejections = []
def on_pdu(event):
    if type(event.pdu).__name__ == "A_ASSOCIATE_RJ":
        rejections.append(event.pdu)
assoc = ae.associate(host, port, ae_title="ANY-SCP", evt_handlers=[(evt.EVT_PDU_RECV, on_pdu)])
if rejections:
    rj = rejections[0]
    print(f"rejected result={rj.result} source={rj.source} reason={rj.reason_diagnostic}")
elif not assoc.is_established:
    print("aborted")
else:
    results = {}
    for cx in assoc.accepted_contexts:
        results[cx.context_id] = f"accepted ts={cx.transfer_syntax[0]}"
    for cx in assoc.rejected_contexts:
        results[cx.context_id] = f"rejected result={cx.result}"
    for i, (abstract, _) in enumerate(proposed):
        cid = 2 * i + 1
        print(f"pc {cid} {abstract}: {results.get(cid, 'missing')}")
    assoc.release()
