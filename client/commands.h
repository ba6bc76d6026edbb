// facectl's subcommands. Each Run*Command gets the parsed arguments of its
// subcommand and returns the process exit code: 0 success, 1 failure (an
// "error: <CODE>: <message>" line on err), 2 bad usage (the message and the
// subcommand's usage on err). The flag tables and usage texts live in
// facectl.cc.
#ifndef FACESERVE_CLIENT_COMMANDS_H_
#define FACESERVE_CLIENT_COMMANDS_H_

#include <ostream>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "client/command_line.h"
#include "client/rpc_support.h"

namespace faceserve::client {

// What a subcommand runs with. Not owned: the streams outlive the command.
struct CommandContext {
  ConnectionOptions connection;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool err_is_tty = false;  // progress bars only on a terminal
  std::string usage;        // the subcommand's usage text

  // Prints "error: <message>", a blank line and the usage; returns 2.
  int UsageError(absl::string_view message) const;
  // Prints "error: <CODE_NAME>: <message>"; returns 1.
  int Fail(const absl::Status& status) const;
  // Prints "error: <CODE_NAME>: <message>" without deciding the exit code.
  void PrintError(const absl::Status& status) const;
};

int RunAnalyzeCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEmbedCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunVerifyCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEvalVerifyCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEvalDetectCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEvalFaceSizesCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunBenchCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunHealthCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunGalleryCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunSubjectCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEnrollCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEnrollDirCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunIdentifyCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEvalIdentifyCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunApiKeyCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunStreamCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunMakeClipCommand(const CommandContext& ctx, const ParsedArgs& args);
int RunEvalTrackCommand(const CommandContext& ctx, const ParsedArgs& args);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_COMMANDS_H_
