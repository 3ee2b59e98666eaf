// The web playground served at GET / (turned off by `senti serve --no-ui`): one static page, compiled
// into the binary from src/serving/ui/index.html, that calls POST /predict and GET /info of the same server.
#pragma once

#include "serving/service.h"

namespace senti::serving {

// 200 text/html with a Content-Security-Policy that lets the page talk to this server only.
HttpResponse playground_response();

}  // namespace senti::serving
