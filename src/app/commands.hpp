// Sub-commands of the `sluice` executable. Each takes the arguments after its name
// and returns the process exit status; errors are reported on stderr.
#pragma once

#include <string>
#include <vector>

namespace sluice::app {

int run_inspect(const std::vector<std::string>& args);
int run_tokenize(const std::vector<std::string>& args);
int run_generate(const std::vector<std::string>& args);
int run_score(const std::vector<std::string>& args);
int run_template(const std::vector<std::string>& args);
int run_serve(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_grammar(const std::vector<std::string>& args);

}  // namespace sluice::app
