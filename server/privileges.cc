// Leaving root after start-up: the sockets and the store are open, so the
// rest of the server's life needs no privilege at all.
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "server/server.h"

namespace sealdrop {
namespace server {

Status DropPrivileges(const Config& c, const std::vector<std::string>& sockets) {
  if (::geteuid() != 0) {
    if (c.user.empty()) return Status::OK();
    const passwd* pw = ::getpwnam(c.user.c_str());
    if (pw == nullptr || pw->pw_uid != ::geteuid())
      return Status::InvalidArgument("user = \"" + c.user + "\" in config.toml, but this process "
                                     "runs as uid " + std::to_string(::geteuid()));
    return Status::OK();
  }
  if (c.user.empty()) {
    std::fprintf(stderr, "sealdrop-server: warning: running as root; set user (and group) in "
                         "config.toml to leave root after start-up\n");
    return Status::OK();
  }
  const passwd* pw = ::getpwnam(c.user.c_str());
  if (pw == nullptr) return Status::InvalidArgument("user = \"" + c.user + "\": no such user");
  const uid_t uid = pw->pw_uid;
  gid_t gid = pw->pw_gid;
  if (uid == 0) return Status::InvalidArgument("user = \"" + c.user + "\" is root");
  if (!c.group.empty()) {
    const group* gr = ::getgrnam(c.group.c_str());
    if (gr == nullptr) return Status::InvalidArgument("group = \"" + c.group + "\": no such group");
    gid = gr->gr_gid;
  }
  if (gid == 0) return Status::InvalidArgument("group of user = \"" + c.user + "\" is root's");
  for (const std::string& path : sockets)
    if (::chown(path.c_str(), uid, gid) != 0)
      return Status::IOError("cannot give " + path + " to " + c.user + ": " + std::strerror(errno));
  // Its files must be the user's: the server keeps their times to the day,
  // which only their owner may set, and writes the store.
  for (const std::string& d : {c.dir, c.store_dir()}) {
    std::vector<std::string> paths = {d};
    if (DIR* dir = ::opendir(d.c_str())) {
      while (const dirent* e = ::readdir(dir))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          paths.push_back(d + "/" + e->d_name);
      ::closedir(dir);
    }
    for (const std::string& path : paths) {
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0 || st.st_uid != uid)
        return Status::InvalidArgument(path + " does not belong to user = \"" + c.user +
                                       "\"; chown -R " + c.user + " " + c.dir);
    }
  }
  // Group first, while still root; glibc applies each to every thread.
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
    return Status::IOError(std::string("cannot become user ") + c.user + ": " + std::strerror(errno));
  if (::setuid(0) == 0 || ::getegid() != gid)
    return Status::IOError("root could be taken back after becoming " + c.user);
  // A change of user makes the process dumpable again on some kernels' settings.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return Status::OK();
}

}  // namespace server
}  // namespace sealdrop
