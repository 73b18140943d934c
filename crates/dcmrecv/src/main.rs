//! dcmrecv: a drop-in replacement for DCMTK's storage SCP (work in progress).

fn main() {}
