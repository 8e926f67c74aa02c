//! Cached files sent with `sendfile(2)` instead of a copy through user space.
//!
//! hyper only writes byte buffers, so every viewer of a cached HLS segment cost a copy of it from
//! the origin's memory into the socket: a third of the origin's profile, and why nginx, which
//! hands the kernel the file's pages, served segments faster from the same files. Bytes made by
//! [`file_backed`] remember the open file that holds the same contents; [`SendfileStream`] wraps
//! each connection, and when hyper asks it to write a slice of such bytes it sends that range of
//! the file instead. Every other write goes to the socket as before.
//!
//! The file must not change while its bytes live. The HLS writers replace a file by renaming a
//! new one over it, so the open file never changes; if it was truncated anyway, `sendfile` sends
//! less and the rest is written from memory, so a response is never cut short.
//!
//! Each file-backed buffer holds a file descriptor. At most a quarter of the process's
//! descriptor limit is spent on them; past that, bytes are plain memory and copied as before, so
//! a large live window can never starve the listeners and the segment writers of descriptors.

use std::{
    collections::BTreeMap,
    fs::File,
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, LazyLock, PoisonError, RwLock,
    },
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use tokio::{
    io::{AsyncRead, AsyncWrite, Interest, ReadBuf},
    net::TcpStream,
};

/// Memory regions whose contents are also in an open file, by start address.
static REGIONS: LazyLock<RwLock<BTreeMap<usize, Region>>> = LazyLock::new(RwLock::default);
/// How many regions exist: services that never cache a file skip the lookup.
static REGION_COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES_SENT_FROM_FILES: AtomicU64 = AtomicU64::new(0);
/// The most regions kept at once: a quarter of the descriptor limit.
static MAX_REGIONS: LazyLock<usize> = LazyLock::new(|| {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    usize::try_from(limit.unwrap_or(u64::MAX) / 4).unwrap_or(usize::MAX)
});

struct Region {
    len: usize,
    file: Arc<File>,
}

/// Bytes holding `contents`, which were read from `file` starting at offset 0. Sending them over
/// a [`SendfileStream`] sends the file's pages instead of copying the bytes (unless the
/// descriptor budget is spent: then `file` is closed and the bytes are plain memory).
pub fn file_backed(file: File, contents: Vec<u8>) -> Bytes {
    if contents.is_empty() || REGION_COUNT.load(Ordering::Relaxed) >= *MAX_REGIONS {
        return Bytes::from(contents);
    }
    let contents = contents.into_boxed_slice();
    let start = contents.as_ptr() as usize;
    let region = Region {
        len: contents.len(),
        file: Arc::new(file),
    };
    REGIONS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(start, region);
    REGION_COUNT.fetch_add(1, Ordering::Relaxed);
    // The heap allocation does not move with the box, so `start` stays its address.
    Bytes::from_owner(FileBacked { contents })
}

/// How many bytes all connections sent straight from files so far.
pub fn bytes_sent_from_files() -> u64 {
    BYTES_SENT_FROM_FILES.load(Ordering::Relaxed)
}

/// The owner of [`file_backed`] bytes: forgets the region before its memory is freed, so a later
/// allocation at the same address is never mistaken for file contents.
struct FileBacked {
    contents: Box<[u8]>,
}

impl AsRef<[u8]> for FileBacked {
    fn as_ref(&self) -> &[u8] {
        &self.contents
    }
}

impl Drop for FileBacked {
    fn drop(&mut self) {
        let start = self.contents.as_ptr() as usize;
        let removed = REGIONS
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&start);
        if removed.is_some() {
            REGION_COUNT.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The file and offset holding `slice`, if it lies inside [`file_backed`] bytes.
fn file_range(slice: &[u8]) -> Option<(Arc<File>, u64)> {
    if slice.is_empty() || REGION_COUNT.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let start = slice.as_ptr() as usize;
    let regions = REGIONS.read().unwrap_or_else(PoisonError::into_inner);
    let (&base, region) = regions.range(..=start).next_back()?;
    let offset = start - base;
    (offset + slice.len() <= region.len).then(|| (region.file.clone(), offset as u64))
}

/// A TCP connection that sends [`file_backed`] bytes with `sendfile`.
#[derive(Debug)]
pub struct SendfileStream {
    stream: TcpStream,
    sent_from_files: u64,
}

impl SendfileStream {
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            sent_from_files: 0,
        }
    }

    /// How many bytes this connection sent straight from files.
    pub fn sent_from_files(&self) -> u64 {
        self.sent_from_files
    }

    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        slice: &[u8],
        file: &File,
        offset: u64,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            let mut position = offset;
            let sent = self.stream.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.stream, file, Some(&mut position), slice.len())
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => break,
                Ok(sent) => {
                    self.sent_from_files += sent as u64;
                    BYTES_SENT_FROM_FILES.fetch_add(sent as u64, Ordering::Relaxed);
                    return Poll::Ready(Ok(sent));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                // EINVAL from a file system without sendfile, or a socket error that the plain
                // write below reports again.
                Err(_) => break,
            }
        }
        // The file ended before its bytes did (truncated): the rest goes from memory.
        Pin::new(&mut self.stream).poll_write(cx, slice)
    }

    /// Writes a slice that precedes file contents (a response head), telling the kernel more
    /// follows so that head and body can leave in the same packets despite `TCP_NODELAY`.
    fn poll_send_head(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            let sent = self.stream.try_io(Interest::WRITABLE, || {
                rustix::net::send(&self.stream, head, rustix::net::SendFlags::MORE)
                    .map_err(io::Error::from)
            });
            match sent {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match file_range(buf) {
            Some((file, offset)) => self.poll_send_file(cx, buf, &file, offset),
            None => Pin::new(&mut self.stream).poll_write(cx, buf),
        }
    }

    /// hyper hands over the response head and the body's buffers together. Buffers up to the
    /// first file-backed one go out in one `writev`; the file-backed one on the next call.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first_file = bufs
            .iter()
            .enumerate()
            .find_map(|(index, buf)| Some((index, file_range(buf)?)));
        match first_file {
            None => Pin::new(&mut self.stream).poll_write_vectored(cx, bufs),
            Some((0, (file, offset))) => self.poll_send_file(cx, &bufs[0], &file, offset),
            Some((1, _)) => self.poll_send_head(cx, &bufs[0]),
            Some((index, _)) => Pin::new(&mut self.stream).poll_write_vectored(cx, &bufs[..index]),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A connected pair on loopback: the sending side wrapped, the receiving side plain.
    async fn connection() -> (SendfileStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (connected, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let sender = SendfileStream::new(accepted.expect("accept").0);
        (sender, connected.expect("connect"))
    }

    /// Writes `parts` the way hyper flushes a response: vectored writes, advancing by what each
    /// one took; then closes. Returns the sender to read its counter.
    async fn send(mut sender: SendfileStream, mut parts: Vec<Bytes>) -> SendfileStream {
        while parts.iter().any(|part| !part.is_empty()) {
            let slices: Vec<io::IoSlice<'_>> = parts
                .iter()
                .filter(|part| !part.is_empty())
                .map(|part| io::IoSlice::new(part))
                .collect();
            let mut written = sender.write_vectored(&slices).await.expect("write");
            assert!(written > 0, "a write took nothing");
            for part in parts.iter_mut() {
                let taken = written.min(part.len());
                bytes::Buf::advance(part, taken);
                written -= taken;
            }
        }
        sender.shutdown().await.expect("shutdown");
        sender
    }

    fn file_with(contents: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut temp = tempfile::NamedTempFile::new().expect("temp file");
        temp.write_all(contents).expect("write");
        let reopened = File::open(temp.path()).expect("open");
        (temp, reopened)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|index| (index % 251) as u8).collect()
    }

    async fn received(mut receiver: TcpStream) -> Vec<u8> {
        let mut all = Vec::new();
        receiver.read_to_end(&mut all).await.expect("read");
        all
    }

    #[tokio::test]
    async fn a_head_and_a_file_backed_body_arrive_whole_with_the_body_sent_from_the_file() {
        let contents = pattern(700 * 1024);
        let (_temp, file) = file_with(&contents);
        let body = file_backed(file, contents.clone());
        let head = Bytes::from_static(b"HTTP/1.1 200 OK\r\ncontent-length: 716800\r\n\r\n");
        let (sender, receiver) = connection().await;

        let (sender, all) =
            tokio::join!(send(sender, vec![head.clone(), body]), received(receiver));

        assert_eq!(all.len(), head.len() + contents.len());
        assert_eq!(&all[..head.len()], &head[..]);
        assert!(all[head.len()..] == contents[..], "the body differs");
        assert_eq!(sender.sent_from_files(), contents.len() as u64);
    }

    #[tokio::test]
    async fn a_slice_of_file_backed_bytes_is_sent_from_its_offset() {
        let contents = pattern(64 * 1024);
        let (_temp, file) = file_with(&contents);
        let bytes = file_backed(file, contents.clone());
        let (sender, receiver) = connection().await;

        let (sender, all) = tokio::join!(
            send(sender, vec![bytes.slice(1000..5000)]),
            received(receiver)
        );

        assert!(all == contents[1000..5000], "the range differs");
        assert_eq!(sender.sent_from_files(), 4000);
    }

    #[tokio::test]
    async fn bytes_of_a_truncated_file_are_finished_from_memory() {
        let contents = pattern(200 * 1024);
        let (temp, file) = file_with(&contents);
        let bytes = file_backed(file, contents.clone());
        std::fs::OpenOptions::new()
            .write(true)
            .open(temp.path())
            .and_then(|file| file.set_len(50 * 1024))
            .expect("truncate");
        let (sender, receiver) = connection().await;

        let (sender, all) = tokio::join!(send(sender, vec![bytes]), received(receiver));

        assert!(all == contents, "the response differs from the bytes");
        assert_eq!(sender.sent_from_files(), 50 * 1024);
    }

    #[tokio::test]
    async fn plain_bytes_are_written_as_they_are() {
        let (sender, receiver) = connection().await;
        let plain = Bytes::from(pattern(10_000));

        let (sender, all) = tokio::join!(send(sender, vec![plain.clone()]), received(receiver));

        assert_eq!(all, plain);
        assert_eq!(sender.sent_from_files(), 0);
    }

    #[test]
    fn a_region_is_forgotten_when_its_bytes_are_dropped() {
        let contents = pattern(4096);
        let (_temp, file) = file_with(&contents);
        let bytes = file_backed(file, contents);
        let start = bytes.as_ptr() as usize;
        assert!(file_range(&bytes[10..20]).is_some_and(|(_, offset)| offset == 10));

        drop(bytes);

        let regions = REGIONS.read().unwrap_or_else(PoisonError::into_inner);
        assert!(!regions.contains_key(&start));
    }
}
