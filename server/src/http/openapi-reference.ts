/**
 * The OpenAPI document as a readable HTML page, rendered on the server: every operation with its
 * parameters, request body and responses, every webhook, every schema. Plain HTML and one inline
 * stylesheet — no script, no font, nothing fetched from another origin.
 */

type JsonObject = Record<string, unknown>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const object = (value: unknown): JsonObject => (typeof value === 'object' && value !== null ? (value as JsonObject) : {});

/** `code` spans for `backticks`, everything else escaped. */
const prose = (text: unknown) => escape(String(text ?? '')).replace(/`([^`]+)`/g, '<code>$1</code>');

/** A schema in one line: a $ref becomes a link to its section, the rest compact JSON. */
function schemaText(schema: unknown): string {
  const { $ref } = object(schema);
  if (typeof $ref === 'string') {
    const name = $ref.split('/').pop()!;
    return `<a href="#schema-${escape(name)}">${escape(name)}</a>`;
  }
  const oneOf = object(schema).oneOf;
  if (Array.isArray(oneOf)) return oneOf.map(schemaText).join(' | ');
  return `<code>${escape(JSON.stringify(schema))}</code>`;
}

function content(body: unknown): string {
  return Object.entries(object(object(body).content))
    .map(([type, media]) => `<span class="type">${escape(type)}</span> ${schemaText(object(media).schema)}`)
    .join('<br>');
}

function operation(method: string, path: string, op: JsonObject, shared: unknown[]): string {
  const parameters = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])].map(object);
  const rows = parameters
    .map((p) => `<tr><td><code>${escape(String(p.name))}</code></td><td>${escape(String(p.in))}${p.required ? ', required' : ''}</td><td>${schemaText(p.schema)}</td><td>${prose(p.description)}</td></tr>`)
    .join('');
  const responses = Object.entries(object(op.responses))
    .map(([status, response]) => `<tr><td><strong>${escape(status)}</strong></td><td>${prose(object(response).description)}</td><td>${content(response)}</td></tr>`)
    .join('');
  const anchor = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  return `<section class="op" id="${escape(anchor)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code>${op.security ? ' <span class="lock">bearer token</span>' : ''}</h3>
<p>${prose(op.summary)}</p>
${rows ? `<table><tr><th>Parameter</th><th>In</th><th>Schema</th><th></th></tr>${rows}</table>` : ''}
${op.requestBody ? `<p><strong>Body</strong> ${content(op.requestBody)}</p>` : ''}
<table><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>${responses}</table>
</section>`;
}

function operations(paths: unknown): string {
  return Object.entries(object(paths))
    .flatMap(([path, item]) => {
      const shared = Array.isArray(object(item).parameters) ? (object(item).parameters as unknown[]) : [];
      return METHODS.filter((m) => object(item)[m]).map((m) => operation(m, path, object(object(item)[m]), shared));
    })
    .join('\n');
}

export function renderReference(document: JsonObject): string {
  const info = object(document.info);
  const schemas = Object.entries(object(object(document.components).schemas))
    .map(([name, schema]) => `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3><pre>${escape(JSON.stringify(schema, null, 2))}</pre></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(String(info.title))} API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1c2430}
code,pre{font:13px/1.4 ui-monospace,monospace}pre{background:#f4f6f8;padding:.75rem;overflow:auto;border-radius:6px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #dde3ea;padding:.3rem .5rem;text-align:left;vertical-align:top}
.op{border:1px solid #dde3ea;border-radius:8px;padding:0 1rem .5rem;margin:1rem 0}.method{display:inline-block;min-width:4.5rem;font-size:13px;color:#fff;border-radius:4px;padding:0 .4rem;text-align:center}
.get{background:#2f6fb3}.post{background:#2c8a4b}.patch{background:#a66a00}.delete{background:#b3342f}.put{background:#6b4bb3}
.lock,.type{font-size:12px;color:#5a6672}
</style></head><body>
<h1>${escape(String(info.title))} API <small>${escape(String(info.version))}</small></h1>
<p>${prose(info.description)} Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI ${escape(String(document.openapi))}).</p>
<h2>Operations</h2>
${operations(document.paths)}
<h2>Sent by Haul to the application</h2>
${operations(document.webhooks)}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
