// A file compiled into a binary (cmake/embed.cmake): the site's catalogs and
// templates, the codename word list.
#pragma once

#include <cstddef>
#include <string_view>

namespace sealdrop {

struct EmbeddedFile {
  const char* name;  // its path under the embedded folder
  const char* data;
  size_t size;
};

// The named file's bytes among `files`; empty if there is none of that name.
inline std::string_view FindEmbedded(const EmbeddedFile* files, size_t n, std::string_view name) {
  for (size_t i = 0; i < n; i++)
    if (name == files[i].name) return {files[i].data, files[i].size};
  return {};
}

}  // namespace sealdrop
