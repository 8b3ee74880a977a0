// The API docs at /docs: Swagger UI from the installed fastapi-offline package's files, served by the
// dashboard itself (no CDN, so it works offline), on the app's own OpenAPI document.
"use strict";

const node = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: node.dataset.openapi, dom_id: "#swagger-ui",
  deepLinking: true, layout: "BaseLayout" });
