#include "server/multipart.h"
#include "server/server.h"

namespace sealdrop {
namespace server {

Form::Form(const Config& cfg, Writer* writer, uint32_t day)
    : cfg_(cfg), up_(writer, cfg.recipients, day) {}

Form::~Form() = default;

Status Form::Begin(const std::string& content_type) {
  std::string boundary;
  SD_RETURN_IF_ERROR(ParseBoundary(content_type, &boundary));
  parser_ = std::make_unique<MultipartParser>(boundary);
  return up_.Begin();
}

bool Form::Feed(const char* p, size_t n) {
  if (!parser_ || !err_.ok()) return false;
  MultipartParser::Handler h;
  h.part = [&](const PartHeader& f) {
    if (up_.in_file()) {
      err_ = up_.EndFile();
      if (!err_.ok()) return false;
    }
    if (f.name == "message" && !f.has_filename) {
      part_ = Part::kMessage;
    } else if (f.name == "files" && f.filename.empty()) {
      part_ = Part::kEmpty;  // the browser's part for "no file chosen"
    } else if (f.name == "files") {
      if (up_.files() >= cfg_.max_files) {
        err_ = Status::TooLarge("too many files");
        return false;
      }
      err_ = up_.StartFile(std::string_view(f.filename.data(), f.filename.size()),
                           std::string_view(f.content_type.data(), f.content_type.size()));
      if (!err_.ok()) return false;
      part_ = Part::kFile;
    } else {
      err_ = Status::InvalidArgument("unexpected form field");
      return false;
    }
    return true;
  };
  h.data = [&](const char* data, size_t len) {
    const auto* b = reinterpret_cast<const uint8_t*>(data);
    switch (part_) {
      case Part::kMessage:
        err_ = up_.AppendMessage(b, len);
        break;
      case Part::kFile:
        file_bytes_ += len;
        if (file_bytes_ > cfg_.max_upload) {
          err_ = Status::TooLarge("files too large");
          return false;
        }
        err_ = up_.Write(b, len);
        break;
      case Part::kEmpty:
        if (len > 0) err_ = Status::InvalidArgument("file part without a name");
        break;
      case Part::kNone:
        err_ = Status::InvalidArgument("data outside a part");
        break;
    }
    return err_.ok();
  };
  if (parser_->Feed(p, n, h)) return true;
  if (err_.ok()) err_ = Status::InvalidArgument("malformed form: " + parser_->error());
  return false;
}

bool Form::empty() const { return up_.files() == 0 && up_.message_empty(); }

Status Form::Finish(Receipt* receipt) {
  SD_RETURN_IF_ERROR(err_);
  if (!parser_ || !parser_->done()) return Status::InvalidArgument("the form ended early");
  if (empty()) return Status::InvalidArgument("nothing to send");
  return up_.Commit(receipt);
}

}  // namespace server
}  // namespace sealdrop
