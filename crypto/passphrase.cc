// Reading a passphrase into guarded memory: from the first line of a file,
// or from the terminal with echo off. Shared by the tools that unlock keys.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/crypto.h"

namespace sealdrop {
namespace crypto {

Status ReadPassphrase(const std::string& file, const char* prompt, bool confirm,
                      crypto::Secret* out) {
  constexpr size_t kMax = 1024;
  crypto::Secret buf(kMax + 1);
  size_t n = 0;
  if (!file.empty()) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot read " + file + ": " + std::strerror(errno));
    ssize_t r;
    while (n <= kMax && (r = ::read(fd, buf.data() + n, kMax + 1 - n)) > 0) n += size_t(r);
    ::close(fd);
    uint8_t* nl = static_cast<uint8_t*>(std::memchr(buf.data(), '\n', n));
    if (nl != nullptr) n = size_t(nl - buf.data());
    else if (n > kMax) return Status::TooLarge("passphrase file is too long");
    if (n > 0 && buf.data()[n - 1] == '\r') n--;
  } else {
    int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0)
      return Status::InvalidArgument("no terminal to ask for the passphrase");
    struct termios old, quiet;
    if (::tcgetattr(tty, &old) != 0) {
      ::close(tty);
      return Status::InvalidArgument("no terminal to ask for the passphrase");
    }
    quiet = old;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    quiet.c_lflag |= ECHONL;
    auto ask = [&](const char* p, crypto::Secret* into, size_t* len) -> Status {
      // Echo goes off before the prompt appears, so nothing typed after the
      // prompt is ever shown (or flushed away).
      ::tcsetattr(tty, TCSAFLUSH, &quiet);
      (void)!::write(tty, p, std::strlen(p));
      size_t k = 0;
      char c;
      bool over = false;
      while (::read(tty, &c, 1) == 1 && c != '\n') {
        if (k < kMax) into->data()[k++] = uint8_t(c);
        else over = true;
      }
      ::tcsetattr(tty, TCSAFLUSH, &old);
      crypto::Wipe(&c, 1);
      if (over) return Status::TooLarge("passphrase is too long");
      if (k > 0 && into->data()[k - 1] == '\r') k--;
      *len = k;
      return Status::OK();
    };
    Status st = ask(prompt, &buf, &n);
    if (st.ok() && confirm) {
      crypto::Secret again(kMax + 1);
      size_t m = 0;
      st = ask("Repeat passphrase: ", &again, &m);
      if (st.ok() && (m != n || !crypto::Equal(buf.data(), again.data(), n)))
        st = Status::InvalidArgument("the passphrases differ");
    }
    ::close(tty);
    SD_RETURN_IF_ERROR(st);
  }
  if (n == 0) return Status::InvalidArgument("empty passphrase");
  buf.resize_down(n);
  *out = std::move(buf);
  return Status::OK();
}

}  // namespace crypto
}  // namespace sealdrop
