// Writing extracted plaintext to disk.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base/cli.h"
#include "review/review.h"

namespace sealdrop {
namespace review {

PlainWriter::PlainWriter(int fd, bool try_direct) : fd_(fd) {
  int fl = ::fcntl(fd_, F_GETFL);
  direct_ = try_direct && fl >= 0 && ::fcntl(fd_, F_SETFL, fl | O_DIRECT) == 0;
}

Status PlainWriter::Write(const uint8_t* p, size_t n) {
  if (direct_) {
    size_t whole = reinterpret_cast<uintptr_t>(p) % kBlock == 0 ? n / kBlock * kBlock : 0;
    while (whole > 0) {
      ssize_t w = ::write(fd_, p, whole);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL) break;  // refused as direct I/O: write it buffered
      if (w <= 0) return Status::IOError(std::string("write failed: ") + std::strerror(errno));
      p += w;
      n -= size_t(w);
      whole -= size_t(w);
      off_ += uint64_t(w);
      if (size_t(w) % kBlock != 0) break;  // the file offset is unaligned from here on
    }
    if (n == 0) return Status::OK();
    int fl = ::fcntl(fd_, F_GETFL);
    if (fl >= 0) ::fcntl(fd_, F_SETFL, fl & ~O_DIRECT);
    direct_ = false;
    start_ = prev_ = off_;
  }
  SD_RETURN_IF_ERROR(cli::WriteAll(fd_, p, n, "the extracted file"));
  off_ += n;
  if (off_ - start_ < kWindow) return Status::OK();
  // Start writeback of this window; wait for the one before, which has
  // had a window's time to reach the disk, and drop it from the cache. A
  // wait reports a writeback error only once, so it is checked here.
  ::sync_file_range(fd_, off_t(start_), off_t(off_ - start_), SYNC_FILE_RANGE_WRITE);
  if (prev_ < start_) {
    if (::sync_file_range(fd_, off_t(prev_), off_t(start_ - prev_),
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                              SYNC_FILE_RANGE_WAIT_AFTER) != 0)
      return Status::IOError(std::string("write failed: ") + std::strerror(errno));
    ::posix_fadvise(fd_, off_t(prev_), off_t(start_ - prev_), POSIX_FADV_DONTNEED);
  }
  prev_ = start_;
  start_ = off_;
  return Status::OK();
}

}  // namespace review
}  // namespace sealdrop
