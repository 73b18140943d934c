//! dcmrecv-storage-scp (work in progress).
