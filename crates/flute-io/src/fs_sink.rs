//! [`FsSink`]: objects written as files under a root directory, through a hidden
//! temporary file renamed into place once the object is complete and verified. It lives
//! here, in the I/O crate, so that `flute-receiver` writes no file (ARCHITECTURE.md).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};

use flute_receiver::{ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};

/// Writes objects as files under `root`: first to a hidden temporary file in the target
/// directory, renamed to its final name once the object is complete and verified.
///
/// Content-Location mapping: a URI scheme and authority (`http://host`, `file://`) are
/// removed and the rest is taken as a path relative to `root`. Refused: `..` components,
/// paths that are absolute without a scheme, backslashes, NUL, `:` inside a component
/// (drive letters, alternate streams) and empty paths.
#[derive(Debug, Clone)]
pub struct FsSink {
    root: PathBuf,
    counter: u64,
}

impl FsSink {
    /// A sink writing under `root` (which must exist).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            counter: 0,
        }
    }

    /// Maps a Content-Location to a path relative to the root, or refuses it.
    pub fn relative_path(content_location: &str) -> Result<PathBuf, SinkError> {
        let bad = || SinkError::UnsafeLocation(content_location.to_owned());
        let mut rest = content_location;
        // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
        if let Some(i) = rest.find(':') {
            let scheme = &rest[..i];
            let is_scheme = scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !is_scheme {
                return Err(bad());
            }
            rest = &rest[i + 1..];
            if let Some(after) = rest.strip_prefix("//") {
                rest = after.find('/').map_or("", |j| &after[j..]);
            }
            rest = rest.trim_start_matches('/');
        } else if rest.starts_with('/') {
            return Err(bad());
        }
        // Query and fragment are not part of the file name.
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        if rest.contains(['\\', '\0']) {
            return Err(bad());
        }
        let mut out = PathBuf::new();
        for part in rest.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(bad()),
                p if p.contains(':') => return Err(bad()),
                p => out.push(p),
            }
        }
        // Defence in depth: every component must be a plain name.
        if out.as_os_str().is_empty()
            || !out.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(bad());
        }
        Ok(out)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl ObjectSink for FsSink {
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError> {
        let rel = Self::relative_path(&meta.content_location)?;
        let target = self.root.join(&rel);
        let dir = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&dir)?;
        self.counter += 1;
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}-{}.part", meta.toi, self.counter));
        let file = fs::File::create(&tmp)?;
        Ok(Box::new(FsWriter {
            file: Some(io::BufWriter::new(file)),
            tmp,
            target,
            done: false,
        }))
    }
}

/// A temporary file; removed on drop unless committed.
struct FsWriter {
    file: Option<io::BufWriter<fs::File>>,
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl ObjectWriter for FsWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        match &mut self.file {
            Some(f) => f.write_all(data)?,
            None => return Err(io::Error::other("writer closed").into()),
        }
        Ok(())
    }
    fn commit(mut self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("writer closed"))?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.target)?;
        self.done = true;
        Ok(ObjectLocation::File(self.target.clone()))
    }
    fn abort(self: Box<Self>) {}
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        if !self.done {
            drop(self.file.take());
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_uris_and_relative_paths() {
        let p = |s: &str| FsSink::relative_path(s).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(p("a/b.txt").unwrap(), "a/b.txt");
        assert_eq!(p("http://example.com/dir/x.mp4?q=1").unwrap(), "dir/x.mp4");
        assert_eq!(p("file:///etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(p("urn:file").unwrap(), "file");
        assert_eq!(p("./a//b").unwrap(), "a/b");
    }

    #[test]
    fn refuses_escapes() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "http://h/../x",
            "C:\\x",
            "c:/x",
            "a\\..\\x",
            "",
            "http://host",
            "a/b:c",
            "x\0y",
        ] {
            assert!(FsSink::relative_path(bad).is_err(), "{bad:?} accepted");
        }
    }
}
