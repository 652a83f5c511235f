// tls_sink: the baseline for the upload benchmark. A bare HTTPS server on the
// same cpp-httplib header, with the same receive buffer, as
// sealdrop-server's server/http.cc, that reads a POST body and throws it away.
//
//   tls_sink CERT KEY
//
// Listens on 127.0.0.1 on a free port and prints
//   tls_sink: listening on https://127.0.0.1:PORT/
// on stderr. Routes:
//   POST /raw        reads the body with ContentReader(receiver): TLS + HTTP only
//   POST /multipart  reads it with ContentReader(header, receiver): also
//                    httplib's multipart/form-data parser
// Both answer "Received N bytes" (file bytes for /multipart), so the
// benchmark can check that everything arrived. SIGTERM ends it.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_RECV_BUFSIZ size_t(64u * 1024u)
// HTTPLIB_HEADER is the full path of ${HTTPLIB_DIR}/httplib.h (bench/CMakeLists.txt),
// so no other httplib.h (such as /usr/include/httplib.h) can stand in.
#include HTTPLIB_HEADER

#include <signal.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

constexpr bool SameString(const char* a, const char* b) {
  return *a == *b && (*a == '\0' || SameString(a + 1, b + 1));
}
static_assert(SameString(CPPHTTPLIB_VERSION, "0.18.7"),
              "tls_sink must be built against the cpp-httplib 0.18.7 that sealdrop uses");

void Text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body + "\n", "text/plain");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CERT KEY\n", argv[0]);
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  httplib::SSLServer svr(argv[1], argv[2]);
  if (!svr.is_valid()) {
    std::fprintf(stderr, "tls_sink: cannot load %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  // The same timeouts as sealdrop-server's default config.
  svr.set_read_timeout(30, 0);
  svr.set_write_timeout(30, 0);

  svr.Post("/raw", [](const httplib::Request&, httplib::Response& res,
                      const httplib::ContentReader& reader) {
    uint64_t total = 0;
    bool ok = reader([&](const char*, size_t n) {
      total += n;
      return true;
    });
    if (!ok) return Text(res, 400, "Incomplete after " + std::to_string(total) + " bytes");
    Text(res, 200, "Received " + std::to_string(total) + " bytes");
  });

  svr.Post("/multipart", [](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
    if (!req.is_multipart_form_data()) return Text(res, 415, "Not multipart/form-data");
    uint64_t file_bytes = 0, other_bytes = 0;
    size_t files = 0;
    bool in_file = false;
    bool ok = reader(
        [&](const httplib::MultipartFormData& f) {
          in_file = !f.filename.empty();
          if (in_file) files++;
          return true;
        },
        [&](const char*, size_t n) {
          (in_file ? file_bytes : other_bytes) += n;
          return true;
        });
    if (!ok) return Text(res, 400, "Malformed or incomplete multipart body");
    Text(res, 200,
         "Received " + std::to_string(file_bytes) + " bytes in " + std::to_string(files) +
             " files (+" + std::to_string(other_bytes) + " other bytes)");
  });

  int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "tls_sink: cannot listen on 127.0.0.1\n");
    return 2;
  }
  std::fprintf(stderr, "tls_sink: listening on https://127.0.0.1:%d/\n", port);
  std::fflush(stderr);
  return svr.listen_after_bind() ? 0 : 1;
}
