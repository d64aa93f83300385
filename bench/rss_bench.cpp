// Peak resident memory of `sluice run` generating 32 tokens (target for stories260K:
// under 50 MB). Runs the real binary and reads the child's peak RSS from wait4.
//
//   build/bench/rss_bench [MODEL.gguf]   (default $SLUICE_SHARED/models/stories260K.gguf)
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    const char* shared = std::getenv("SLUICE_SHARED");
    const std::string model = argc > 1 ? argv[1] : std::string(shared ? shared : "../shared") + "/models/stories260K.gguf";
    const pid_t pid = fork();
    if (pid == 0) {
        const int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(SLUICE_BINARY, "sluice", "run", "-m", model.c_str(), "-p", "Once upon a time", "-n", "32", "--temp", "0",
              static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    if (pid < 0 || wait4(pid, &status, 0, &usage) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "rss_bench: sluice run failed on %s\n", model.c_str());
        return 1;
    }
    const double mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
    std::printf("rss_bench: sluice run -n 32 on %s: peak RSS %.1f MB (stories260K target < 50 MB: %s)\n", model.c_str(), mb,
                mb < 50.0 ? "met" : "MISSED");
    return 0;
}
