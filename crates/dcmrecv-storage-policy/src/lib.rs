//! dcmrecv-storage-policy (work in progress).
