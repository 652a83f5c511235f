#include "server/multipart.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace sealdrop {
namespace server {
namespace {

// Part headers carry the names of a source's files, and buf_ carries body
// bytes between reads: every string here wipes its memory when done with it.
using Text = crypto::WipedString;
using Params = std::vector<std::pair<Text, Text>, crypto::WipingAllocator<std::pair<Text, Text>>>;

constexpr size_t kMaxPreamble = 4096;
constexpr size_t kMaxPadding = 64;

bool IEquals(const Text& a, const char* b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; i++)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

Text Trim(const Text& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == Text::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "a; k=v; k2=\"v;2\"" into the first token and parameters.
bool SplitParams(const Text& v, Text* first,
                 Params* params) {
  size_t i = v.find(';');
  *first = Trim(v.substr(0, i));
  while (i != Text::npos && i < v.size()) {
    i++;  // past ';'
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i >= v.size()) break;
    size_t eq = v.find('=', i);
    if (eq == Text::npos) return false;
    Text key = Trim(v.substr(i, eq - i));
    for (auto& c : key) c = char(std::tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) i++;
    Text val;
    if (i < v.size() && v[i] == '"') {
      i++;
      bool closed = false;
      while (i < v.size()) {
        char c = v[i++];
        if (c == '\\' && i < v.size() && (v[i] == '"' || v[i] == '\\')) {
          val += v[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          val += c;
        }
      }
      if (!closed) return false;
      size_t semi = v.find(';', i);
      if (Trim(v.substr(i, semi == Text::npos ? Text::npos : semi - i)) != "")
        return false;
      i = semi;
    } else {
      size_t semi = v.find(';', i);
      val = Trim(v.substr(i, semi == Text::npos ? Text::npos : semi - i));
      i = semi;
    }
    params->emplace_back(key, val);
  }
  return true;
}

// Browsers write '"', CR and LF in file names as %22, %0D, %0A (HTML spec).
Text UnescapeFormName(const Text& s) {
  Text out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      Text code = s.substr(i + 1, 2);
      if (code == "22") { out += '"'; i += 2; continue; }
      if (code == "0D" || code == "0d") { out += '\r'; i += 2; continue; }
      if (code == "0A" || code == "0a") { out += '\n'; i += 2; continue; }
    }
    out += s[i];
  }
  return out;
}

// RFC 8187 ext-value: charset'lang'pct-encoded; only UTF-8 is accepted.
bool DecodeExtValue(const Text& v, Text* out) {
  size_t q1 = v.find('\'');
  if (q1 == Text::npos) return false;
  size_t q2 = v.find('\'', q1 + 1);
  if (q2 == Text::npos) return false;
  Text charset = v.substr(0, q1);
  if (!IEquals(charset, "utf-8")) return false;
  out->clear();
  for (size_t i = q2 + 1; i < v.size(); i++) {
    if (v[i] == '%') {
      if (i + 2 >= v.size()) return false;
      int hi = HexDigit(v[i + 1]), lo = HexDigit(v[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += char(hi * 16 + lo);
      i += 2;
    } else {
      *out += v[i];
    }
  }
  return true;
}

}  // namespace

Status ParseBoundary(const std::string& content_type, std::string* boundary) {
  Text type;
  Params params;
  if (!SplitParams(Text(content_type.data(), content_type.size()), &type, &params) ||
      !IEquals(type, "multipart/form-data"))
    return Status::InvalidArgument("not multipart/form-data");
  for (const auto& kv : params) {
    if (kv.first != "boundary") continue;
    const Text& b = kv.second;
    // RFC 2046: 1 to 70 characters from a restricted set, not ending in space.
    if (b.empty() || b.size() > 70 || b.back() == ' ')
      return Status::InvalidArgument("malformed multipart boundary");
    for (char c : b) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("'()+_,-./:=? ", c)))
        return Status::InvalidArgument("malformed multipart boundary");
    }
    boundary->assign(b.data(), b.size());
    return Status::OK();
  }
  return Status::InvalidArgument("multipart body without a boundary");
}

MultipartParser::MultipartParser(const std::string& boundary)
    : delim_(("\r\n--" + boundary).c_str()) {
  // The first delimiter has no CRLF before it; pretend it has.
  buf_ = "\r\n";
}

MultipartParser::~MultipartParser() {
  crypto::WipeString(&buf_);
  crypto::WipeString(&window_);
}

// glibc's memmem is linear (two-way), whatever the body holds.
const char* MultipartParser::Find(const char* p, size_t n) const {
  return static_cast<const char*>(::memmem(p, n, delim_.data(), delim_.size()));
}

bool MultipartParser::Fail(const char* why) {
  state_ = State::kFailed;
  error_ = why;
  crypto::WipeString(&buf_);
  return false;
}

bool MultipartParser::ParseHeaders(const Text& block, PartHeader* out) {
  bool disposition = false;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t eol = block.find("\r\n", pos);
    if (eol == Text::npos) eol = block.size();
    Text line = block.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == Text::npos || colon == 0) return Fail("malformed part header");
    Text name = line.substr(0, colon), value = Trim(line.substr(colon + 1));
    if (IEquals(name, "Content-Disposition")) {
      if (disposition) return Fail("two Content-Disposition headers");
      disposition = true;
      Text kind;
      Params params;
      if (!SplitParams(value, &kind, &params) || !IEquals(kind, "form-data"))
        return Fail("part is not form-data");
      bool have_name = false, have_ext = false;
      for (const auto& kv : params) {
        if (kv.first == "name") {
          out->name = kv.second;
          have_name = true;
        } else if (kv.first == "filename" && !have_ext) {
          out->filename = UnescapeFormName(kv.second);
          out->has_filename = true;
        } else if (kv.first == "filename*") {
          if (!DecodeExtValue(kv.second, &out->filename)) return Fail("malformed filename*");
          out->has_filename = true;
          have_ext = true;
        }
      }
      if (!have_name) return Fail("part without a name");
    } else if (IEquals(name, "Content-Type")) {
      out->content_type = value;
    }
  }
  if (!disposition) return Fail("part without Content-Disposition");
  return true;
}

bool MultipartParser::Feed(const char* p, size_t n, const Handler& h) {
  if (state_ == State::kFailed) return false;
  if (state_ == State::kEpilogue) return true;  // ignored, as RFC 2046 says
  // Bytes carried over from the last call (fewer than a delimiter) matter only
  // if a delimiter begins in them. Otherwise they are body, and this input
  // can take the fast path, rather than be copied whole into buf_.
  if (state_ == State::kBody && !buf_.empty() && n >= delim_.size()) {
    window_.assign(buf_);
    window_.append(p, delim_.size() - 1);
    const char* hit = Find(window_.data(), window_.size());
    if (hit == nullptr || size_t(hit - window_.data()) >= buf_.size()) {
      if (!h.data(buf_.data(), buf_.size())) return Fail("stopped");
      buf_.clear();
    }
  }
  // Fast path for the bulk of a file: with nothing carried over, body bytes
  // that cannot begin a delimiter go to the handler straight from the input,
  // without passing through buf_.
  if (state_ == State::kBody && buf_.empty() && n >= delim_.size()) {
    const char* at = Find(p, n);
    size_t safe = at != nullptr ? size_t(at - p) : n - (delim_.size() - 1);
    if (safe > 0) {
      if (!h.data(p, safe)) return Fail("stopped");
      p += safe;
      n -= safe;
    }
  }
  buf_.append(p, n);
  while (true) {
    switch (state_) {
      case State::kPreamble: {
        size_t at = buf_.find(delim_);
        if (at == Text::npos) {
          if (buf_.size() > kMaxPreamble + delim_.size()) return Fail("no multipart boundary found");
          return true;
        }
        buf_.erase(0, at + delim_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        size_t i = 0;
        while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t') && i < kMaxPadding) i++;
        if (i == kMaxPadding) return Fail("malformed multipart delimiter");
        if (buf_.size() < i + 2) return true;
        if (i == 0 && buf_[0] == '-' && buf_[1] == '-') {
          state_ = State::kEpilogue;
          buf_.clear();
          return true;
        }
        if (buf_[i] != '\r' || buf_[i + 1] != '\n') return Fail("malformed multipart delimiter");
        buf_.erase(0, i + 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        size_t end;
        Text block;
        if (buf_.compare(0, 2, "\r\n") == 0) {
          end = 2;  // a part with no headers
        } else {
          size_t at = buf_.find("\r\n\r\n");
          if (at == Text::npos) {
            if (buf_.size() > kMaxHeaderBytes) return Fail("part headers too long");
            return true;
          }
          if (at > kMaxHeaderBytes) return Fail("part headers too long");
          block = buf_.substr(0, at);
          end = at + 4;
        }
        PartHeader ph;
        if (!ParseHeaders(block, &ph)) return false;
        buf_.erase(0, end);
        state_ = State::kBody;
        if (!h.part(ph)) return Fail("stopped");
        break;
      }
      case State::kBody: {
        const char* hit = Find(buf_.data(), buf_.size());
        size_t at = hit != nullptr ? size_t(hit - buf_.data()) : Text::npos;
        if (at == Text::npos) {
          // Everything but a possible delimiter prefix at the end is body.
          if (buf_.size() >= delim_.size()) {
            size_t emit = buf_.size() - (delim_.size() - 1);
            if (!h.data(buf_.data(), emit)) return Fail("stopped");
            buf_.erase(0, emit);
          }
          return true;
        }
        if (at > 0 && !h.data(buf_.data(), at)) return Fail("stopped");
        buf_.erase(0, at + delim_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kEpilogue:
        buf_.clear();
        return true;
      case State::kFailed:
        return false;
    }
  }
}

}  // namespace server
}  // namespace sealdrop
