#include "serving/ui.h"

#include <string>

#include "serving/ui_page.h"  // generated from ui/index.html (see CMakeLists.txt)

namespace senti::serving {

HttpResponse playground_response() {
  HttpResponse r;
  r.body = std::string(ui::kPlaygroundHtml);
  r.content_type = "text/html; charset=utf-8";
  // Inline script and style only, requests to this origin only: no CDN, nothing else on the network.
  r.headers.emplace_back("content-security-policy",
                         "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                         "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                         "frame-ancestors 'none'");
  r.headers.emplace_back("x-content-type-options", "nosniff");
  r.headers.emplace_back("cache-control", "no-cache");
  return r;
}

}  // namespace senti::serving
