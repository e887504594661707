//! The MD5 of a file with reading and hashing on two threads (issue 19 §3): `flute send`
//! computes the Content-MD5 of a file before its FDT entry, and so before its first
//! packet, so this pass is on the critical path. One thread reads the file into a few
//! fixed buffers while the other hashes the one before: the pass takes about the time of
//! the hash alone instead of read + hash. Memory: `BUFFERS` × `CHUNK`, whatever the file.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::sync_channel;

use md5::{Digest, Md5};

const CHUNK: usize = 1 << 20;
const BUFFERS: usize = 3;

/// The MD5 of the bytes of `path`, read by a second thread.
pub(crate) fn file_md5(path: &Path) -> io::Result<[u8; 16]> {
    let mut file = File::open(path)?;
    digest_reader(&mut file)
}

/// The MD5 of everything `r` yields, read on a scoped thread while this one hashes.
pub(crate) fn digest_reader<R: Read + Send>(r: &mut R) -> io::Result<[u8; 16]> {
    // Full buffers go to the hasher, empty ones back to the reader: BUFFERS in all.
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // Cannot fail: the channel holds BUFFERS and its receiver is alive.
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|s| {
        let reader = s.spawn(move || -> io::Result<()> {
            while let Ok(mut buf) = empty_rx.recv() {
                let n = fill(r, &mut buf)?;
                if full_tx.send((buf, n)).is_err() || n == 0 {
                    break;
                }
            }
            Ok(())
        });
        let mut h = Md5::new();
        while let Ok((buf, n)) = full_rx.recv() {
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            // Fails once the reader has seen the end and left: the buffers still queued
            // are hashed all the same.
            let _ = empty_tx.send(buf);
        }
        // The reader ends at the end of the input, on an error, or when the buffers stop
        // coming back (dropped here); the loop above ends with it.
        drop(empty_tx);
        drop(full_rx);
        match reader.join() {
            Ok(Ok(())) => Ok(h.finalize().into()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("the file reading thread panicked")),
        }
    })
}

/// Reads until `buf` is full or the input ends; the byte count (0 only at the end).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same digest as hashing in one go, for lengths around the chunk and buffer sizes,
    /// and a reader that hands out a few bytes at a time.
    #[test]
    fn digest_matches_one_pass_md5() {
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            BUFFERS * CHUNK,
            (BUFFERS + 2) * CHUNK + 7,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 131 + i / 7) as u8).collect();
            let want: [u8; 16] = Md5::digest(&data).into();
            let got = digest_reader(&mut io::Cursor::new(&data)).unwrap();
            assert_eq!(got, want, "len {len}");
            let mut trickle = Trickle(&data[..len.min(100_000)]);
            let want: [u8; 16] = Md5::digest(&data[..len.min(100_000)]).into();
            assert_eq!(digest_reader(&mut trickle).unwrap(), want, "trickle {len}");
        }
    }

    /// A read error is returned, not a digest of what came before it.
    #[test]
    fn a_read_error_is_returned() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
        }
        let err = digest_reader(&mut Failing(5 * CHUNK + 3)).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
    }

    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(333);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
}
