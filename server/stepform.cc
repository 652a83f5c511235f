#include <algorithm>

#include "server/multipart.h"
#include "server/server.h"

namespace sealdrop {
namespace server {

void WipeValues(intake::Values* values) {
  for (auto& kv : *values)
    for (auto& v : kv.second) crypto::WipeString(&v);
  values->clear();
}

StepForm::StepForm(std::vector<std::string> file_fields, std::function<Status(Upload**)> upload,
                   uint32_t max_files, uint64_t max_bytes)
    : file_fields_(std::move(file_fields)),
      get_upload_(std::move(upload)),
      max_files_(max_files),
      max_bytes_(max_bytes) {}

StepForm::~StepForm() {
  crypto::WipeString(&value_);
  WipeValues(&values_);
}

Status StepForm::Begin(const std::string& content_type) {
  std::string boundary;
  SD_RETURN_IF_ERROR(ParseBoundary(content_type, &boundary));
  parser_ = std::make_unique<MultipartParser>(boundary);
  return Status::OK();
}

// A value is kept only if it is not empty: a field left blank is no answer.
void StepForm::EndValue() {
  if (part_ == Part::kValue && !value_.empty()) {
    auto& mine = values_[name_];
    // One past the most a field takes is enough to be refused as too many.
    if (mine.size() <= format::kMaxAnswerValues) mine.emplace_back(value_.data(), value_.size());
  } else if (part_ == Part::kStep) {
    step_.assign(value_.data(), value_.size());
  } else if (part_ == Part::kAction) {
    action_.assign(value_.data(), value_.size());
  }
  crypto::WipeString(&value_);
  value_.clear();
  part_ = Part::kNone;
}

bool StepForm::Feed(const char* p, size_t n) {
  if (!parser_ || !err_.ok()) return false;
  MultipartParser::Handler h;
  h.part = [&](const PartHeader& f) {
    EndValue();
    if (up_ != nullptr && up_->in_file()) {
      err_ = up_->EndFile();
      if (!err_.ok()) return false;
    }
    name_.assign(f.name.data(), f.name.size());
    const bool file_field =
        std::find(file_fields_.begin(), file_fields_.end(), name_) != file_fields_.end();
    if (name_ == kStepField && !f.has_filename) {
      part_ = Part::kStep;
    } else if (name_ == kActionField && !f.has_filename) {
      part_ = Part::kAction;
    } else if (file_field && f.filename.empty()) {
      part_ = Part::kEmpty;  // "no file chosen"
    } else if (file_field) {
      if (files_ >= max_files_) {
        err_ = Status::TooLarge("too many files");
        return false;
      }
      if (up_ == nullptr) {
        err_ = get_upload_(&up_);
        if (!err_.ok()) return false;
      }
      err_ = up_->StartFile(std::string_view(f.filename.data(), f.filename.size()),
                            std::string_view(f.content_type.data(), f.content_type.size()));
      if (!err_.ok()) return false;
      files_++;
      values_[name_].push_back(std::to_string(up_->last_item()));
      part_ = Part::kFile;
    } else if (f.has_filename) {
      err_ = Status::InvalidArgument("a file for a field that takes none");
      return false;
    } else {
      // Any other name is kept, to be named as unknown by intake::CheckStep.
      if (values_.size() > intake::kMaxFields + 8 || name_.size() > 64) {
        err_ = Status::InvalidArgument("too many fields");
        return false;
      }
      part_ = Part::kValue;
    }
    return true;
  };
  h.data = [&](const char* data, size_t len) {
    switch (part_) {
      case Part::kValue:
      case Part::kStep:
      case Part::kAction: {
        text_bytes_ += len;
        if (text_bytes_ > format::kMaxAnswers) {
          err_ = Status::TooLarge("answers too long");
          return false;
        }
        // One byte past the longest answer is enough to say it is too long.
        const size_t cap = intake::kMaxAnswerBytes + 1;
        const size_t room = cap - std::min<size_t>(value_.size(), cap);
        value_.append(data, std::min(len, room));
        return true;
      }
      case Part::kFile:
        file_bytes_ += len;
        if (file_bytes_ > max_bytes_) {
          err_ = Status::TooLarge("files too large");
          return false;
        }
        err_ = up_->Write(reinterpret_cast<const uint8_t*>(data), len);
        return err_.ok();
      case Part::kEmpty:
        if (len > 0) err_ = Status::InvalidArgument("file part without a name");
        return err_.ok();
      case Part::kNone:
        err_ = Status::InvalidArgument("data outside a part");
        return false;
    }
    return false;
  };
  if (parser_->Feed(p, n, h)) return true;
  if (err_.ok()) err_ = Status::InvalidArgument("malformed form: " + parser_->error());
  return false;
}

Status StepForm::Finish() {
  SD_RETURN_IF_ERROR(err_);
  if (!parser_ || !parser_->done()) return Status::InvalidArgument("the form ended early");
  EndValue();
  if (up_ != nullptr) SD_RETURN_IF_ERROR(up_->EndFile());
  return Status::OK();
}

}  // namespace server
}  // namespace sealdrop
