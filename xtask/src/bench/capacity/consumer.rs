//! A consumer that deletes received files as they appear, as pipelines do that move or remove
//! what a receiver stores: a thread polls the output directory (`readdir`) and unlinks every
//! stored object it finds (temporary files are left alone).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::receivers::is_final_name;

/// A running consumer; [`stop`](Consumer::stop) ends it and tells how many files it deleted.
pub(crate) struct Consumer {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl Consumer {
    /// Starts deleting the files that appear in `dir`.
    pub(crate) fn start(dir: &Path) -> Consumer {
        let stop = Arc::new(AtomicBool::new(false));
        let dir: PathBuf = dir.to_path_buf();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut deleted = 0u64;
            loop {
                // Read the flag before the pass, so the last pass sees every file stored
                // before `stop` was called.
                let stopping = flag.load(Ordering::Acquire);
                let found = sweep(&dir);
                deleted += found;
                if stopping {
                    return deleted;
                }
                if found == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        Consumer { stop, thread }
    }

    /// Stops the consumer after one last pass; returns the number of files it deleted.
    pub(crate) fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or(0)
    }
}

/// Deletes every stored object in `dir`; returns how many.
fn sweep(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        if is_final_name(&e.file_name().to_string_lossy())
            && e.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(e.path()).is_ok()
        {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_stored_files_and_leaves_temporary_ones() {
        let dir = dcmrecv_e2e::receiver::target_dir().join("consumer-test");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let consumer = Consumer::start(&dir);
        for i in 0..50 {
            std::fs::write(dir.join(format!("CT.{i}")), b"x").unwrap();
        }
        std::fs::write(dir.join(".dcmrecv-tmp-1-1.part"), b"x").unwrap();
        assert_eq!(consumer.stop(), 50);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
