//! The tensor files: large requests' tensors (layout `v2-binary`, binary.rs) are appended to
//! files in a folder beside the database (`predictions.db` → `predictions.db-tensors/`), and
//! their requests' chunk entries (store.rs) hold a [`Reference`] to them instead of the bytes.
//!
//! Why not a BLOB column: SQLite copies every byte it stores three times in the kernel (the
//! WAL write, the checkpoint's read of it and its write into the database) besides its own
//! copy and the WAL checksum: about 2 ns of CPU per byte measured, against about 0.35 ns to
//! append to a file (BENCHMARKS.md, the audit trail). A 1,000-record iris request's tensors
//! are ≈ 41 KB.
//!
//! A file is named (20 digits, `.tensors`) by the number of stored records before its first
//! request, or one past the previous file's name when that is larger (a batch that rolled
//! back gives its record numbers to the next one), and closes at [`FILE_BYTES`], between two
//! requests. So names grow with the files, and every record a file holds is numbered below
//! the next file's name: retention deletes a file once the oldest record kept is at or past
//! the next file's name.
//! The writer flushes the files before each commit (and syncs them first in `durable` mode),
//! so a committed reference points at written bytes; bytes whose transaction rolled back
//! stay in the file, unreferenced.
//!
//! Each request's two sides arrive copied into one [`Block`]: aligned, and padded with zeros
//! to whole 512-byte blocks, made on the request's thread while its bytes are still cached
//! there, in a chunk that thread's blocks share. The writer appends the blocks with `O_DIRECT`, past the page cache, without reading
//! them: the kernel's copy into fresh cache pages, and the writer's reading of the requests'
//! bytes 50 ms after they were written, were most of the trail's cost (BENCHMARKS.md). So a
//! request's sides start at a multiple of 512 bytes in its file. A file system or disk that
//! refuses such writes gets the same blocks through the page cache, released from it once
//! written back.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

/// A file takes no more requests once it is this long.
const FILE_BYTES: u64 = 64 << 20;
/// The alignment of what is written: every block's address, length and file offset are
/// multiples of it, as writes that bypass the page cache need on disks of 512-byte sectors. A
/// disk that needs more refuses the write, and the file goes on through the page cache.
pub const BLOCK: usize = 512;
/// The size of a thread's arena of blocks ([`Block::copy`]).
const ARENA_BYTES: usize = 256 << 10;
/// Appended blocks wait (shared with their requests, not copied) until the flush before the
/// commit, or until this many are waiting: then one `pwritev` writes them all. Linux takes at
/// most 1,024 slices per call.
const MAX_PENDING: usize = 1024;
const EXTENSION: &str = "tensors";

/// Where one side of a request (its inputs or its outputs) is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The file's name in the tensor folder.
    pub file: String,
    pub offset: u64,
    pub length: u64,
    /// The length of the JSON header of a body stored as it was sent (binary.rs); absent for
    /// the documents the server writes, whose header ends where its JSON does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_length: Option<u64>,
}

impl Reference {
    /// Appends the reference as JSON, `{"file":…,"offset":…,"length":…}`: written here rather
    /// than by serde, because the writer writes two per request and the name (digits and
    /// `.tensors`, from [`file_name`]) needs no escaping.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        debug_assert!(first_row_of(&self.file).is_some());
        out.extend_from_slice(b"{\"file\":\"");
        out.extend_from_slice(self.file.as_bytes());
        out.extend_from_slice(b"\",\"offset\":");
        // Writing a number into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &self.offset);
        out.extend_from_slice(b",\"length\":");
        let _ = serde_json::to_writer(&mut *out, &self.length);
        if let Some(header_length) = self.header_length {
            out.extend_from_slice(b",\"header_length\":");
            let _ = serde_json::to_writer(&mut *out, &header_length);
        }
        out.push(b'}');
    }

    /// [`Reference::header_length`] as a length in memory; a stored value too large for one
    /// reads as a length no body has, so the document is refused rather than misread.
    pub fn header_length(&self) -> Option<usize> {
        self.header_length
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// A request's two sides (inputs, outputs) copied into one block-aligned buffer, one after
/// the other, padded with zeros to whole blocks. The request's thread makes it while the bytes
/// are still in its core's cache, and lets go of its body and answer at once; the writer
/// appends the block without reading it (`O_DIRECT`). A copy by the writer, 50 ms later, read
/// every byte from memory again, and that cost the requests more than the copy (BENCHMARKS.md).
#[derive(Clone)]
pub struct Block {
    /// Aligned, a whole number of blocks long.
    bytes: Bytes,
    lengths: [usize; 2],
}

impl Block {
    /// Copies the two sides into the calling thread's arena: a chunk of [`ARENA_BYTES`] that
    /// its blocks share (one allocation, freed once the writer let go of its last block), so
    /// the writer frees one chunk rather than a buffer per request, and a flush's blocks from
    /// one thread lie side by side in memory.
    pub fn copy(sides: [&[u8]; 2]) -> Block {
        let lengths = sides.map(<[u8]>::len);
        let padded = (lengths[0] + lengths[1]).next_multiple_of(BLOCK);
        let bytes = ARENA.with_borrow_mut(|arena| {
            if arena.capacity() < padded {
                *arena = aligned_chunk(padded.max(ARENA_BYTES));
            }
            arena.extend_from_slice(sides[0]);
            arena.extend_from_slice(sides[1]);
            arena.resize(padded, 0);
            arena.split_to(padded).freeze()
        });
        Block { bytes, lengths }
    }

    /// Side `i` (0: inputs, 1: outputs).
    pub fn side(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.lengths[0] };
        &self.bytes[start..start + self.lengths[i.min(1)]]
    }

    /// The length of the two sides, without the padding.
    pub fn len(&self) -> usize {
        self.lengths[0] + self.lengths[1]
    }
}

thread_local! {
    static ARENA: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// An empty buffer of at least `bytes` whose first byte is aligned to [`BLOCK`].
fn aligned_chunk(bytes: usize) -> BytesMut {
    let mut chunk = BytesMut::with_capacity(bytes + BLOCK);
    let start = chunk.as_ptr().align_offset(BLOCK).min(BLOCK);
    chunk.resize(start, 0);
    let _ = chunk.split_to(start);
    chunk
}

/// The tensor folder of the database at `db`.
pub fn folder_of(db: &Path) -> PathBuf {
    let mut folder = db.as_os_str().to_owned();
    folder.push("-tensors");
    PathBuf::from(folder)
}

/// The writer's side: the folder and the file being appended to.
pub struct TensorFiles {
    folder: PathBuf,
    durable: bool,
    current: Option<Appending>,
    /// The number in the newest file's name; `None` until the folder was read.
    last_name: Option<i64>,
    /// [`FILE_BYTES`], smaller in tests.
    file_bytes: u64,
    /// Whether to open files that bypass the page cache: cleared once the file system
    /// refused a write of that kind, so the next files do not try again.
    direct: bool,
}

struct Appending {
    name: String,
    path: PathBuf,
    file: File,
    /// Whether `file` bypasses the page cache (`O_DIRECT`).
    direct: bool,
    /// The file's length, counting what is still pending: a multiple of [`BLOCK`].
    length: u64,
    /// Where the pending blocks go: the file's length without them.
    written: u64,
    /// Blocks appended but not yet written, in order.
    pending: Vec<Bytes>,
    /// Whether bytes were appended since the last flush: a transaction without tensors
    /// costs no flush and no sync.
    appended: bool,
    /// Where the page cache was last told to let go ([`Appending::release_cache`]): the
    /// file's length at the flush before last, and at the last flush.
    released: [u64; 2],
}

impl TensorFiles {
    /// The files of the database at `db`; `durable` syncs them before each commit.
    pub fn new(db: &Path, durable: bool) -> TensorFiles {
        TensorFiles {
            folder: folder_of(db),
            durable,
            current: None,
            last_name: None,
            file_bytes: FILE_BYTES,
            direct: true,
        }
    }

    /// Appends the request whose first record is record `first_row` (its two sides in one
    /// block), in one file: a file that is full closes before a request, never inside one.
    pub fn append_block(&mut self, first_row: i64, block: &Block) -> io::Result<[Reference; 2]> {
        let appended = self.try_append(first_row, block);
        self.forget_on_error(appended)
    }

    /// Appends one or two sides of a request, copying them into a block here.
    #[cfg(test)]
    pub fn append<const N: usize>(
        &mut self,
        first_row: i64,
        sides: [&Bytes; N],
    ) -> io::Result<[Reference; N]> {
        let side = |i: usize| sides.get(i).map_or(&b""[..], |s| &s[..]);
        let references = self.append_block(first_row, &Block::copy([side(0), side(1)]))?;
        Ok(std::array::from_fn(|i| references[i].clone()))
    }

    fn try_append(&mut self, first_row: i64, block: &Block) -> io::Result<[Reference; 2]> {
        if self
            .current
            .as_ref()
            .is_none_or(|c| c.length >= self.file_bytes)
        {
            self.open(first_row)?;
        }
        let Some(current) = self.current.as_mut() else {
            return Err(io::Error::other("no tensor file is open"));
        };
        let reference = |offset: u64, length: usize| Reference {
            file: current.name.clone(),
            offset,
            length: length as u64,
            header_length: None,
        };
        let references = [
            reference(current.length, block.lengths[0]),
            reference(current.length + block.lengths[0] as u64, block.lengths[1]),
        ];
        current.appended = true;
        if !block.bytes.is_empty() {
            current.length += block.bytes.len() as u64;
            current.pending.push(block.bytes.clone());
            if current.pending.len() >= MAX_PENDING {
                current.write_pending()?;
            }
        }
        Ok(references)
    }

    /// After a failed write (a full disk, say) the file's length is no longer known: the
    /// file is closed, and the next request reopens it and takes its length from the file
    /// system, so no later reference points at bytes that were not written. The batch that
    /// failed rolls back, so nothing refers to what it appended.
    fn forget_on_error<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err()
            && let Some(failed) = self.current.take()
        {
            self.direct &= failed.direct;
        }
        result
    }

    /// Closes the current file and opens a new one for requests from record `first_row` on,
    /// named by that number, or one past the last file's name when that is larger: a batch
    /// that rolled back gives its record numbers to the next one, and names must keep growing
    /// for [`TensorFiles::delete_before`] to be right.
    fn open(&mut self, first_row: i64) -> io::Result<()> {
        if let Some(mut previous) = self.current.take() {
            self.direct &= previous.direct;
            previous.write_pending()?;
            if self.durable {
                previous.file.sync_data()?;
            }
            previous.released = [0, previous.length];
            previous.release_cache();
        }
        std::fs::create_dir_all(&self.folder)?;
        let last = match self.last_name {
            Some(last) => last,
            None => self.starts()?.last().copied().unwrap_or(-1),
        };
        let number = first_row.max(last.saturating_add(1));
        let name = file_name(number);
        let path = self.folder.join(&name);
        let (file, direct) = open_for_appending(&path, self.direct)?;
        // A file written before may end inside a block: appending goes on from the next
        // block, and the gap is never referenced.
        let length = file.metadata()?.len().next_multiple_of(BLOCK as u64);
        if self.durable {
            // The new file's name must survive a power cut too.
            File::open(&self.folder)?.sync_all()?;
        }
        self.last_name = Some(number);
        self.current = Some(Appending {
            name,
            path,
            file,
            direct,
            length,
            written: length,
            pending: Vec::with_capacity(MAX_PENDING),
            released: [length; 2],
            appended: false,
        });
        Ok(())
    }

    /// Writes out what is pending (and syncs it in `durable` mode): call before committing
    /// the references.
    pub fn flush(&mut self) -> io::Result<()> {
        let durable = self.durable;
        let flushed = match self.current.as_mut().filter(|c| c.appended) {
            Some(current) => current.write_pending().and_then(|()| {
                if durable {
                    current.file.sync_data()?;
                }
                current.appended = false;
                current.release_cache();
                Ok(())
            }),
            None => Ok(()),
        };
        self.forget_on_error(flushed)
    }

    /// Deletes the files that hold only records before record `oldest_kept`: every file but
    /// the current one whose successor starts at or before it. Returns how many went.
    pub fn delete_before(&mut self, oldest_kept: i64) -> io::Result<usize> {
        let starts = self.starts()?;
        let current = self.current.as_ref().map(|c| c.name.as_str());
        let mut deleted = 0;
        for pair in starts.windows(2) {
            let (start, next) = (pair[0], pair[1]);
            let name = file_name(start);
            if next <= oldest_kept && current != Some(name.as_str()) {
                std::fs::remove_file(self.folder.join(name))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// The numbers in the tensor files' names, in order (none when there is no folder).
    fn starts(&self) -> io::Result<Vec<i64>> {
        let mut starts: Vec<i64> = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().to_str().and_then(first_row_of))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        starts.sort_unstable();
        Ok(starts)
    }
}

impl Appending {
    /// Writes the pending blocks, in order, with as few system calls as the kernel allows.
    /// When the file system refuses a write that bypasses the page cache, the file is opened
    /// again without it and the write repeated.
    fn write_pending(&mut self) -> io::Result<()> {
        if let Err(e) = self.write_pending_once() {
            if !(self.direct && e.raw_os_error() == Some(EINVAL)) {
                return Err(e);
            }
            tracing::warn!(
                error = %e,
                "audit: the tensor files' file system refuses direct writes; \
                 writing through the page cache"
            );
            self.file = OpenOptions::new().write(true).open(&self.path)?;
            self.direct = false;
            self.write_pending_once()?;
        }
        self.pending.clear();
        Ok(())
    }

    /// One attempt at writing every pending block from where they go; on success the
    /// blocks are written (and `written` moved past them), on failure nothing counts as
    /// written.
    fn write_pending_once(&mut self) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> = self.pending.iter().map(|b| IoSlice::new(b)).collect();
        let mut left: &mut [IoSlice<'_>] = &mut slices;
        let mut offset = self.written;
        while !left.is_empty() {
            match rustix::io::pwritev(&self.file, left, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    offset += n as u64;
                    IoSlice::advance_slices(&mut left, n);
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.written = offset;
        Ok(())
    }

    /// Lets the kernel drop the file's pages from its cache once they are on disk: the trail
    /// is written once and rarely read, and gigabytes of it should not push out of memory
    /// what the server reads (its models, the database), nor keep drawing fresh memory. On
    /// Linux, `POSIX_FADV_DONTNEED` starts the write-back of the dirty pages in its range and
    /// drops the clean ones, so each range is advised twice, at the flush that wrote it (its
    /// pages go to disk) and at the next one (they are clean by then and go). A partly
    /// written last page is kept, and so is a page still being written; the advice is only
    /// advice, and failing to give it loses nothing. A file written directly has no pages
    /// there to drop.
    fn release_cache(&mut self) {
        let [from, middle] = self.released;
        let to = self.length;
        #[cfg(target_os = "linux")]
        if !self.direct
            && let Some(length) = std::num::NonZeroU64::new(to.saturating_sub(from))
        {
            let _ =
                rustix::fs::fadvise(&self.file, from, Some(length), rustix::fs::Advice::DontNeed);
        }
        self.released = [middle, to];
    }
}

/// Opens a tensor file to append to, bypassing the page cache where the file system allows
/// it (`O_DIRECT`): the trail's bytes are written once and rarely read, and copying them
/// into cache pages cost more CPU than the rest of the writer (BENCHMARKS.md). Where the
/// file system refuses, or when `direct` is false, the file goes through the page cache.
/// Returns whether it is direct.
fn open_for_appending(path: &Path, direct: bool) -> io::Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.create(true).write(true);
    #[cfg(target_os = "linux")]
    if direct {
        use std::os::unix::fs::OpenOptionsExt;
        let flag = rustix::fs::OFlags::DIRECT.bits() as i32;
        match options.clone().custom_flags(flag).open(path) {
            Ok(file) => return Ok((file, true)),
            Err(e) if e.raw_os_error() == Some(EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((options.open(path)?, false))
}

const EINVAL: i32 = 22;

/// Reads the bytes `reference` points at in `folder`. A name that is not a tensor file's
/// (the database is the only source of references, but it is a file anyone can edit) is
/// refused rather than opened.
pub fn read(folder: &Path, reference: &Reference) -> io::Result<Vec<u8>> {
    if first_row_of(&reference.file).is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{:?} is not a tensor file's name", reference.file),
        ));
    }
    let mut file = File::open(folder.join(&reference.file))?;
    file.seek(SeekFrom::Start(reference.offset))?;
    let length = usize::try_from(reference.length)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "reference too long"))?;
    // Never trust the stored length for an allocation: read what the file holds.
    let mut bytes = Vec::new();
    file.take(reference.length).read_to_end(&mut bytes)?;
    if bytes.len() != length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the tensor file is shorter than its reference",
        ));
    }
    Ok(bytes)
}

fn file_name(first_row: i64) -> String {
    format!("{first_row:020}.{EXTENSION}")
}

/// The first record of a tensor file's name; `None` for any other name.
fn first_row_of(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_back_after_their_pages_were_released_from_the_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles::new(&db, false);
        let mut references = Vec::new();
        for row in 0..5u8 {
            // Sides over a page long, and a short one, so whole pages and a partly written last
            // page are both advised.
            let long = Bytes::from(vec![row; 6000]);
            let short = Bytes::from(vec![row + 100; 7]);
            references.extend(
                files
                    .append(i64::from(row), [&long, &short])
                    .expect("appends"),
            );
            files.flush().expect("flushes");
        }
        files.flush().expect("flushes");
        let folder = folder_of(&db);
        for (i, reference) in references.iter().enumerate() {
            let row = (i / 2) as u8;
            let expected = if i % 2 == 0 {
                vec![row; 6000]
            } else {
                vec![row + 100; 7]
            };
            assert_eq!(
                read(&folder, reference).expect("reads"),
                expected,
                "side {i}"
            );
        }
        let [last] = files
            .append(5, [&Bytes::from_static(b"after")])
            .expect("appends");
        files.flush().expect("flushes");
        // Each request's block is padded to whole blocks.
        assert_eq!(last.offset, 5 * 6007u64.next_multiple_of(BLOCK as u64));
        assert_eq!(read(&folder, &last).expect("reads"), b"after");
    }

    #[test]
    fn appended_sides_read_back_through_their_references() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles::new(&db, true);
        let [first, second] = files
            .append(
                7,
                [
                    &Bytes::from_static(b"inputs of 7"),
                    &Bytes::from_static(b"outputs of 7"),
                ],
            )
            .expect("appends");
        let [third] = files
            .append(9, [&Bytes::from_static(b"")])
            .expect("appends");
        files.flush().expect("flushes");
        assert_eq!(first.file, "00000000000000000007.tensors");
        assert_eq!((first.offset, first.length), (0, 11));
        assert_eq!((second.offset, second.length), (11, 12));
        assert_eq!(
            (third.file.as_str(), third.offset),
            (first.file.as_str(), BLOCK as u64)
        );
        let folder = folder_of(&db);
        assert_eq!(folder, dir.path().join("a.db-tensors"));
        assert_eq!(read(&folder, &first).expect("reads"), b"inputs of 7");
        assert_eq!(read(&folder, &second).expect("reads"), b"outputs of 7");
        assert_eq!(read(&folder, &third).expect("reads"), b"");
    }

    #[test]
    fn sides_of_any_length_read_back_across_flushes_direct_or_through_the_page_cache() {
        let dir = tempfile::tempdir().expect("temp dir");
        for direct in [true, false] {
            let db = dir.path().join(format!("direct-{direct}.db"));
            let mut files = TensorFiles {
                direct,
                ..TensorFiles::new(&db, false)
            };
            // Lengths on both sides of a block and of the staging buffer, so sides end inside
            // a block, on its edge, and span several writes of the buffer.
            let lengths = [1, BLOCK - 1, BLOCK, BLOCK + 1, 3, (1 << 20) + 5, 10, 0];
            let mut written = Vec::new();
            for (i, length) in lengths.into_iter().enumerate() {
                let side: Vec<u8> = (0..length).map(|j| (i * 31 + j * 7) as u8).collect();
                let side = Bytes::from(side);
                let [reference] = files.append(0, [&side]).expect("appends");
                written.push((reference, side));
                // A flush after every other side: the last block is written again.
                if i % 2 == 1 {
                    files.flush().expect("flushes");
                }
            }
            files.flush().expect("flushes");
            let opened_direct = files.current.as_ref().map(|c| c.direct);
            assert_eq!(opened_direct, Some(direct), "direct: {direct}");
            for (reference, side) in &written {
                let read = read(&folder_of(&db), reference).expect("reads");
                assert_eq!(read, side.as_ref(), "{reference:?}, direct: {direct}");
            }
        }
    }

    #[test]
    fn blocks_are_aligned_padded_with_zeros_and_follow_each_other_in_a_thread_s_arena() {
        let small = Block::copy([b"inputs", b"outputs"]);
        let next = Block::copy([b"a", b""]);
        let large = Block::copy([&vec![7u8; ARENA_BYTES + 3], b"x"]);
        for block in [&small, &next, &large] {
            assert_eq!(block.bytes.as_ptr().align_offset(BLOCK), 0);
            assert_eq!(block.bytes.len() % BLOCK, 0);
            assert!(block.bytes[block.len()..].iter().all(|&b| b == 0));
        }
        assert_eq!(
            (small.side(0), small.side(1)),
            (&b"inputs"[..], &b"outputs"[..])
        );
        assert_eq!((next.side(0), next.side(1)), (&b"a"[..], &b""[..]));
        // One chunk: the next block starts where the last one's padding ends.
        assert_eq!(next.bytes.as_ptr(), small.bytes[BLOCK..].as_ptr());
        assert_eq!(large.side(0).len(), ARENA_BYTES + 3);
        assert_eq!(large.side(1), b"x");
    }

    #[test]
    fn a_reference_is_written_as_the_json_it_is_read_from() {
        let reference = Reference {
            file: file_name(1234),
            offset: 0,
            length: u64::MAX,
            header_length: None,
        };
        let mut written = Vec::new();
        reference.write_json(&mut written);
        assert_eq!(
            String::from_utf8_lossy(&written),
            r#"{"file":"00000000000000001234.tensors","offset":0,"length":18446744073709551615}"#
        );
        let read: Reference = serde_json::from_slice(&written).expect("reads");
        assert_eq!(read, reference);
    }

    #[test]
    fn a_reference_past_the_end_or_to_a_foreign_name_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles::new(&db, false);
        let [mut reference] = files
            .append(0, [&Bytes::from_static(b"abc")])
            .expect("appends");
        files.flush().expect("flushes");
        let folder = folder_of(&db);
        reference.length = u64::MAX;
        assert!(read(&folder, &reference).is_err());
        // Past the file's end: past its last block, which a direct write padded with zeros.
        reference.length = 3;
        reference.offset = BLOCK as u64 - 2;
        assert!(read(&folder, &reference).is_err());
        std::fs::write(dir.path().join("secret"), b"x").expect("writes");
        for name in [
            "../secret",
            "/etc/passwd",
            "1.tensors",
            "0000000000000000000a.tensors",
        ] {
            let foreign = Reference {
                file: name.into(),
                offset: 0,
                length: 1,
                header_length: None,
            };
            assert!(read(&folder, &foreign).is_err(), "{name}");
        }
    }

    #[test]
    fn a_full_file_closes_and_only_files_before_the_oldest_kept_record_are_deleted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles {
            file_bytes: 16,
            ..TensorFiles::new(&db, false)
        };
        let big = Bytes::from_static(&[0u8; 16]);
        let names: Vec<String> = [0, 10, 20]
            .into_iter()
            .flat_map(|row| {
                files
                    .append(row, [&big, &Bytes::from_static(b"x")])
                    .expect("appends")
            })
            .map(|reference| reference.file)
            .collect();
        assert_eq!(
            names,
            [0, 0, 10, 10, 20, 20].map(file_name),
            "a full file is followed by a new one between requests, not inside one"
        );
        files.flush().expect("flushes");
        let listed = || {
            let mut names: Vec<String> = std::fs::read_dir(folder_of(&db))
                .expect("lists")
                .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
                .collect();
            names.sort();
            names
        };
        // Record 15 is in the second file: only the first holds nothing kept.
        assert_eq!(files.delete_before(15).expect("deletes"), 1);
        assert_eq!(listed(), [file_name(10), file_name(20)]);
        // Nothing kept before record 30: still, the current file stays.
        assert_eq!(files.delete_before(30).expect("deletes"), 1);
        assert_eq!(listed(), [file_name(20)]);
    }

    #[test]
    fn a_failed_append_is_an_error_and_the_next_one_starts_from_the_file_as_it_is() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles::new(&db, true);
        // A file where the folder should be: nothing can be created in it.
        std::fs::write(folder_of(&db), b"in the way").expect("writes");
        assert!(files.append(0, [&Bytes::from_static(b"lost")]).is_err());
        assert!(files.flush().is_ok(), "nothing to flush");
        std::fs::remove_file(folder_of(&db)).expect("removes");
        let [reference] = files
            .append(0, [&Bytes::from_static(b"kept")])
            .expect("appends");
        files.flush().expect("flushes");
        assert_eq!((reference.offset, reference.length), (0, 4));
        assert_eq!(read(&folder_of(&db), &reference).expect("reads"), b"kept");
    }

    #[test]
    fn a_new_file_is_named_after_the_last_one_even_when_record_numbers_went_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("a.db");
        let mut files = TensorFiles {
            file_bytes: 16,
            ..TensorFiles::new(&db, false)
        };
        let [first] = files
            .append(150, [&Bytes::from_static(&[0u8; 16])])
            .expect("appends");
        // A rolled-back batch: the next one numbers its records from 100 again.
        let [second] = files
            .append(100, [&Bytes::from_static(b"x")])
            .expect("appends");
        assert_eq!(
            (first.file, second.file.clone()),
            (file_name(150), file_name(151))
        );
        files.flush().expect("flushes");
        drop(files);
        // A restarted writer starts after the newest file too.
        let mut again = TensorFiles::new(&db, false);
        let [third] = again
            .append(120, [&Bytes::from_static(b"kept")])
            .expect("appends");
        again.flush().expect("flushes");
        assert_eq!(
            (third.file.as_str(), third.offset),
            (file_name(152).as_str(), 0)
        );
        assert_eq!(read(&folder_of(&db), &third).expect("reads"), b"kept");
        assert_eq!(read(&folder_of(&db), &second).expect("reads"), b"x");
    }
}
