// facectl's table of subcommands: name, usage text, flags, entry point.
// facectl.cc holds the face-analysis ones; gallery_command_table.cc the
// gallery and API key ones.
#ifndef FACESERVE_CLIENT_COMMAND_TABLE_H_
#define FACESERVE_CLIENT_COMMAND_TABLE_H_

#include <vector>

#include "client/command_line.h"
#include "client/commands.h"

namespace faceserve::client {

using CommandFn = int (*)(const CommandContext&, const ParsedArgs&);

struct CommandInfo {
  const char* name;
  const char* usage;
  std::vector<FlagSpec> flags;
  CommandFn run;
};

std::vector<CommandInfo> GalleryCommandTable();

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_COMMAND_TABLE_H_
