// The default model for `sluice serve` without -m: SmolLM2-135M-Instruct (Q8_0 GGUF)
// from Hugging Face, downloaded once into ~/.cache/sluice/ with a progress bar and
// checked against the SHA-256 the server advertises (X-Linked-Etag / ETag). HTTPS with
// certificate and host-name verification; http:// URLs work too (tests).
#pragma once

#include <string>

namespace sluice::app {

// The URL used (SLUICE_DEFAULT_MODEL_URL overrides it).
std::string default_model_url();
// Path of the cached default model, downloading it first when absent. Throws
// sluice::error(errc::io) explaining what failed.
std::string ensure_default_model();

}  // namespace sluice::app
