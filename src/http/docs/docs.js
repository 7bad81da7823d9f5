// The /docs page: renders openapi.json (served by the same server) as a browsable reference
// with a "Try it" form per operation. No dependencies; every node is built with the DOM API
// (never innerHTML), so text from the document is always shown as text.
'use strict';

(() => {
  const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
  const MAX_DEPTH = 5;
  let schemas = {};
  /** Matches the schema names in a type label, to link them. */
  let namePattern = null;

  /** Creates an element: h('tag.class', {attr: value}, child, ...). */
  function h(spec, attrs, ...children) {
    const [tag, ...classes] = spec.split('.');
    const node = document.createElement(tag);
    if (classes.length) node.className = classes.join(' ');
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Text with `code` spans, split into paragraphs at blank lines. */
  function rich(text, block = true) {
    const frag = document.createDocumentFragment();
    for (const para of String(text || '').split(/\n\s*\n/)) {
      const holder = block ? h('p') : document.createDocumentFragment();
      para.split('`').forEach((part, i) => {
        if (part) holder.append(i % 2 ? h('code', { text: part }) : part.replace(/\s*\n\s*/g, ' '));
      });
      frag.append(holder);
    }
    return frag;
  }

  const slug = (text) => String(text).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const refName = (ref) => decodeURIComponent(String(ref).split('/').pop());

  /** Indented JSON, with short arrays of numbers or strings kept on one line. */
  function pretty(value, indent = '') {
    const inner = `${indent}  `;
    if (Array.isArray(value)) {
      if (!value.length) return '[]';
      if (value.every((v) => v === null || typeof v !== 'object')) {
        const line = `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
        if (line.length + indent.length <= 96) return line;
      }
      return `[\n${value.map((v) => inner + pretty(v, inner)).join(',\n')}\n${indent}]`;
    }
    if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      if (!entries.length) return '{}';
      return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${pretty(v, inner)}`).join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(value);
  }

  /** Follows `$ref`s; keywords beside a `$ref` (e.g. its description) win over the target's. */
  function resolve(schema) {
    let name = null;
    for (let hops = 0; schema && typeof schema === 'object' && schema.$ref && hops < 16; hops++) {
      name = refName(schema.$ref);
      const { $ref, ...beside } = schema;
      schema = Object.assign({}, schemas[name] || {}, beside);
    }
    return [schema, name];
  }

  const isAny = (s) => s === true || s === undefined || (s && typeof s === 'object' && Object.keys(s).length === 0);
  const group = (label) => (label.includes(' | ') ? `(${label})` : label);

  /** A one-line type: "string", "array of Prediction", "integer (uint64) | null", … */
  function typeLabel(s) {
    if (isAny(s)) return 'any';
    if (s === false) return 'nothing';
    if (s.$ref) return refName(s.$ref);
    if ('const' in s) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    const alternatives = s.oneOf || s.anyOf;
    if (alternatives) return alternatives.map(typeLabel).join(' | ');
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    const labels = types.map((t) => {
      if (t === 'array') return `array of ${group(typeLabel(s.items))}`;
      if (t === 'object' && !s.properties && s.additionalProperties && !isAny(s.additionalProperties)) {
        return `map of string → ${group(typeLabel(s.additionalProperties))}`;
      }
      if ((t === 'integer' || t === 'number') && s.format) return `${t} (${s.format})`;
      if (t === 'string' && s.pattern) return `string (${s.pattern})`;
      if (t === 'object' && s.properties) return fieldList(s);
      return t;
    });
    if (s.properties && !types.length) labels.push(fieldList(s));
    return labels.join(' | ') || 'any';
  }

  /** An object by its field names when they are few: `{columns, data, index}`. */
  function fieldList(s) {
    const names = Object.keys(s.properties);
    return names.length && names.length <= 4 ? `{${names.join(', ')}}` : 'object';
  }

  /** The type label, with schema names as links to the Schemas section. */
  function typeNode(s) {
    const label = typeLabel(s);
    const node = h('span.type');
    if (!namePattern) return h('span.type', { text: label });
    let last = 0;
    for (const match of label.matchAll(namePattern)) {
      node.append(label.slice(last, match.index));
      node.append(h('a.type-ref', { href: `#schema-${slug(match[0])}`, text: match[0] }));
      last = match.index + match[0].length;
    }
    node.append(label.slice(last));
    return node;
  }

  /** What there is to show below a type: fields of an object, variants, listed values. */
  function hasInside(schema) {
    const [s] = resolve(schema);
    if (!s || typeof s !== 'object') return false;
    if (s.properties) return true;
    const alternatives = s.oneOf || s.anyOf;
    if (alternatives) return alternatives.some((a) => hasInside(a) || (a && a.description));
    if (s.items) return hasInside(s.items);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') return hasInside(s.additionalProperties);
    return false;
  }

  /**
   * The schema as a readable block: a field table for objects, a list for alternatives.
   * `shown` holds the schema names already laid out in this operation: each is shown once.
   */
  function schemaView(schema, shown, depth = 0) {
    const [s, name] = resolve(schema);
    const box = h('div.schema');
    if (!s || typeof s !== 'object' || depth > MAX_DEPTH) return box;
    if (name && shown.has(name) && (s.properties || s.oneOf || s.anyOf)) {
      box.append(h('p.muted', {}, typeNode({ $ref: `#/components/schemas/${name}` }), ': as above.'));
      return box;
    }
    if (name) shown.add(name);
    if (s.properties) {
      const required = new Set(s.required || []);
      const rows = Object.entries(s.properties).map(([field, sub]) => fieldRow(field, sub, required.has(field), shown, depth));
      box.append(h('table.fields', {},
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Field' }), h('th', { scope: 'col', text: 'Type' }), h('th', { scope: 'col', text: 'Description' }))),
        h('tbody', {}, rows)));
      if (s.additionalProperties === false) box.append(h('p.note', { text: 'No other fields are accepted.' }));
      return box;
    }
    const alternatives = s.oneOf || s.anyOf;
    if (alternatives) {
      const list = h('ul.variants');
      for (const alt of alternatives) {
        const [inner] = resolve(alt);
        const item = h('li', {}, typeNode(alt));
        const description = (alt && alt.description) || (inner && inner.description);
        if (description) item.append(' — ', rich(description, false));
        if (hasInside(alt)) item.append(schemaView(alt, shown, depth + 1));
        list.append(item);
      }
      box.append(h('p.note', { text: s.oneOf ? 'Exactly one of:' : 'One of:' }), list);
      return box;
    }
    if (s.items && hasInside(s.items)) {
      box.append(h('p.note', {}, 'Each item: ', typeNode(s.items)), schemaView(s.items, shown, depth + 1));
    } else if (s.additionalProperties && typeof s.additionalProperties === 'object' && hasInside(s.additionalProperties)) {
      box.append(h('p.note', {}, 'Each value: ', typeNode(s.additionalProperties)), schemaView(s.additionalProperties, shown, depth + 1));
    }
    return box;
  }

  function fieldRow(field, sub, required, shown, depth) {
    const [inner] = resolve(sub);
    const description = (sub && sub.description) || (inner && inner.description) || '';
    const cell = h('td', {}, rich(description, false));
    if (hasInside(sub) && depth < MAX_DEPTH) {
      // Nested fields are built when first opened: deep schemas stay cheap to render.
      const more = h('details.nested', {}, h('summary', { text: 'Fields' }));
      more.addEventListener('toggle', () => {
        if (more.open && more.children.length === 1) more.append(schemaView(sub, shown, depth + 1));
      });
      cell.append(more);
    }
    return h('tr', {},
      h('td', {}, h('code.field', { text: field }), required ? h('span.req', { title: 'required', text: 'required' }) : null),
      h('td', {}, typeNode(sub)),
      cell);
  }

  /** One request or response body: its media types, schema and example(s). */
  function contentView(content, shown) {
    const box = h('div.content');
    for (const [media, body] of Object.entries(content || {})) {
      const schema = body.schema;
      box.append(h('p.media', {}, h('span.media-type', { text: media }), ' ', schema ? typeNode(schema) : ''));
      if (schema) {
        const [resolved, name] = resolve(schema);
        const fresh = !name || !shown.has(name);
        if (resolved.description && fresh) box.append(h('p.muted', {}, rich(resolved.description, false)));
        // A named type that is a union or a map: say what it is before any details.
        const { description, ...shape } = resolved;
        if (name && fresh && !resolved.properties && typeLabel(shape) !== 'any') box.append(h('p.note', {}, name, ' = ', typeNode(shape)));
        if (hasInside(schema)) box.append(schemaView(schema, shown));
      }
      const examples = body.examples ? Object.entries(body.examples).map(([k, e]) => [e.summary || k, e.value])
        : 'example' in body ? [['', body.example]] : [];
      for (const [label, value] of examples) {
        box.append(h('details.example', {}, h('summary', { text: label ? `Example: ${label}` : 'Example' }),
          h('pre', { text: typeof value === 'string' ? value : pretty(value) })));
      }
    }
    return box;
  }

  const statusClass = (code) => `s${String(code)[0]}xx`;

  function responsesView(responses, shown) {
    const list = h('div.responses');
    for (const [code, response] of Object.entries(responses || {})) {
      const item = h('div.response', {},
        h('p.response-head', {}, h(`span.status.${statusClass(code)}`, { text: code }), ' ', rich(response.description, false)));
      for (const [name, header] of Object.entries(response.headers || {})) {
        item.append(h('p.muted', {}, 'Header ', h('code', { text: name }), ': ', rich(header.description, false)));
      }
      if (response.content) item.append(contentView(response.content, shown));
      list.append(item);
    }
    return list;
  }

  function parametersView(parameters) {
    return h('table.fields', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Parameter' }), h('th', { scope: 'col', text: 'In' }), h('th', { scope: 'col', text: 'Type' }), h('th', { scope: 'col', text: 'Description' }))),
      h('tbody', {}, parameters.map((p) => h('tr', {},
        h('td', {}, h('code.field', { text: p.name }), p.required ? h('span.req', { text: 'required' }) : null),
        h('td', { text: p.in }),
        h('td', {}, typeNode(p.schema || {})),
        h('td', {}, rich(p.description, false))))));
  }

  const REASONS = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

  /** The "Try it" form: path parameters, admin token, body; Send shows the raw answer. */
  function tryView(op) {
    const pathParams = (op.parameters || []).filter((p) => p.in === 'path');
    const json = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
    const examples = json && json.examples ? Object.entries(json.examples) : [];
    const fields = {};
    const form = h('form.try-form', { novalidate: true });
    const urlPreview = h('code.url');
    const buildPath = () => op.path.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(fields[name] ? fields[name].value : ''));
    const refreshUrl = () => { urlPreview.textContent = `${op.method.toUpperCase()} ${buildPath()}`; };

    for (const p of pathParams) {
      const id = `${op.operationId}-p-${p.name}`;
      const input = h('input', { id, name: p.name, value: p.example !== undefined ? p.example : '', required: true, autocomplete: 'off', spellcheck: 'false', oninput: refreshUrl });
      fields[p.name] = input;
      form.append(h('div.row', {}, h('label', { for: id, text: p.name }), input));
    }
    let token = null;
    if (op.security && op.security.length) {
      const id = `${op.operationId}-token`;
      token = h('input', { id, type: 'password', autocomplete: 'off', placeholder: 'ADMIN_TOKEN' });
      form.append(h('div.row', {}, h('label', { for: id, text: 'Admin token' }), token));
    }
    let body = null;
    if (json) {
      const id = `${op.operationId}-body`;
      body = h('textarea', { id, rows: 8, spellcheck: 'false', 'aria-describedby': `${id}-hint` });
      const useExample = (index) => {
        const [, example] = examples[index] || [];
        body.value = example ? pretty(example.value) : '';
        body.rows = Math.min(18, Math.max(4, body.value.split('\n').length + 1));
        for (const [name, value] of Object.entries((example && example['x-path-parameters']) || {})) {
          if (fields[name]) fields[name].value = value;
        }
        refreshUrl();
      };
      if (examples.length > 1) {
        const sid = `${op.operationId}-example`;
        const select = h('select', { id: sid, onchange: () => useExample(select.selectedIndex) },
          examples.map(([name, e]) => h('option', { value: name, text: e.summary || name })));
        form.append(h('div.row', {}, h('label', { for: sid, text: 'Example' }), select));
      }
      form.append(h('div.row.body-row', {}, h('label', { for: id, text: 'Body (JSON)' }), body),
        h('p.hint', { id: `${id}-hint`, text: 'Ctrl+Enter sends.' }));
      body.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
      });
      useExample(0);
    }
    refreshUrl();

    const send = h('button.send', { type: 'submit', text: 'Send' });
    const result = h('div.result', { 'aria-live': 'polite', hidden: true });
    form.append(h('div.actions', {}, send, urlPreview));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const headers = { Accept: 'application/json, text/plain, */*' };
      const init = { method: op.method.toUpperCase(), headers };
      if (body && body.value.trim()) { headers['Content-Type'] = 'application/json'; init.body = body.value; }
      if (token && token.value) headers.Authorization = `Bearer ${token.value}`;
      // Relative to the page, so the docs also work behind a reverse proxy's path prefix.
      const url = new URL(`.${buildPath()}`, document.baseURI);
      send.disabled = true;
      result.hidden = false;
      result.removeAttribute('data-status');
      result.replaceChildren(h('p.muted', { text: 'Sending…' }));
      const started = performance.now();
      try {
        const response = await fetch(url, init);
        const text = await response.text();
        const ms = Math.round(performance.now() - started);
        let shown = text;
        try { if (text.trim()) shown = pretty(JSON.parse(text)); } catch (_) { /* not JSON: shown as is */ }
        const headerLines = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
        result.dataset.status = String(response.status);
        result.replaceChildren(
          h('p.status-line', {},
            h(`span.status.${statusClass(response.status)}`, { text: `${response.status} ${response.statusText || REASONS[response.status] || ''}`.trim() }),
            h('span.muted', { text: ` ${ms} ms · ${text.length} bytes` })),
          h('details.headers', {}, h('summary', { text: 'Response headers' }), h('pre', { text: headerLines })),
          h('pre.response-body', { text: shown || '(empty body)' }));
      } catch (error) {
        result.dataset.status = 'error';
        result.replaceChildren(h('p.error', { text: `The request failed: ${error.message}` }));
      } finally {
        send.disabled = false;
      }
    });
    return h('section.try', { 'aria-label': `Try ${op.method.toUpperCase()} ${op.path}` }, h('h4', { text: 'Try it' }), form, result);
  }

  function operationView(op) {
    const id = `op-${op.operationId || slug(`${op.method} ${op.path}`)}`;
    const details = h('details.op-details', {},
      h('summary', {},
        h(`span.method.m-${op.method}`, { text: op.method.toUpperCase() }),
        h('code.path', { text: op.path }),
        h('span.summary', { text: op.summary || '' }),
        op.security && op.security.length ? h('span.lock', { title: 'needs the admin token', text: 'admin' }) : null));
    const inside = h('div.op-body');
    details.append(inside);
    // The body is built on first opening; the summaries alone make the page usable.
    const build = () => {
      if (inside.childElementCount) return;
      if (op.description) inside.append(h('div.description', {}, rich(op.description)));
      if (op.parameters && op.parameters.length) inside.append(h('h4', { text: 'Parameters' }), parametersView(op.parameters));
      const shown = new Set();
      if (op.requestBody) {
        inside.append(h('h4', { text: op.requestBody.required ? 'Request body' : 'Request body (optional)' }));
        if (op.requestBody.description) inside.append(h('p', {}, rich(op.requestBody.description, false)));
        inside.append(contentView(op.requestBody.content, shown));
      }
      inside.append(h('h4', { text: 'Responses' }), responsesView(op.responses, shown), tryView(op));
    };
    details.addEventListener('toggle', () => { if (details.open) build(); });
    const article = h('article.operation', { id, 'data-method': op.method, 'data-path': op.path }, details);
    article.dataset.search = `${op.method} ${op.path} ${op.summary || ''} ${(op.tags || []).join(' ')}`.toLowerCase();
    return article;
  }

  function render(spec) {
    schemas = (spec.components && spec.components.schemas) || {};
    const names = Object.keys(schemas);
    const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    namePattern = names.length ? new RegExp(`\\b(${escaped.join('|')})\\b`, 'g') : null;
    const info = spec.info || {};
    document.getElementById('title').textContent = info.title || 'API';
    document.getElementById('version').textContent = info.version ? `v${info.version} · OpenAPI ${spec.openapi}` : '';
    document.title = `${info.title || 'API'} · API reference`;
    const intro = document.getElementById('intro');
    if (info.summary) intro.append(h('p.lede', { text: info.summary }));
    if (info.description) intro.append(h('div.description', {}, rich(info.description)));

    const ops = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) if (item[method]) ops.push({ ...item[method], method, path });
    }
    const tags = (spec.tags || []).map((t) => t.name);
    for (const op of ops) for (const t of op.tags || ['Other']) if (!tags.includes(t)) tags.push(t);

    const main = document.getElementById('content');
    const toc = document.getElementById('toc');
    const tocList = h('ul.toc-tags');
    toc.append(h('h2.visually-hidden', { text: 'Operations' }), tocList);
    for (const tag of tags) {
      const tagged = ops.filter((op) => (op.tags || ['Other']).includes(tag))
        .sort((a, b) => a.path.localeCompare(b.path) || METHODS.indexOf(a.method) - METHODS.indexOf(b.method));
      if (!tagged.length) continue;
      const meta = (spec.tags || []).find((t) => t.name === tag) || {};
      const section = h('section.tag', { id: `tag-${slug(tag)}`, 'aria-labelledby': `tag-${slug(tag)}-h` },
        h('h2', { id: `tag-${slug(tag)}-h`, text: tag }),
        meta.description ? h('p.tag-description', {}, rich(meta.description, false)) : null,
        tagged.map(operationView));
      main.append(section);
      tocList.append(h('li', { 'data-tag': tag },
        h('a.toc-tag', { href: `#tag-${slug(tag)}`, text: tag }),
        h('ul', {}, tagged.map((op) => h('li', { 'data-op': `op-${op.operationId}` },
          h('a', { href: `#op-${op.operationId}` }, h(`span.method.small.m-${op.method}`, { text: op.method.toUpperCase() }), h('span.toc-path', { text: op.path })))))));
    }
    main.append(schemasView());
    return ops.length;
  }

  function schemasView() {
    const section = h('section.tag.schemas', { id: 'schemas', 'aria-labelledby': 'schemas-h' },
      h('h2', { id: 'schemas-h', text: 'Schemas' }),
      h('p.tag-description', { text: 'The types of the request and response bodies (JSON Schema 2020-12).' }));
    for (const name of Object.keys(schemas).sort()) {
      const item = h('details.schema-item', { id: `schema-${slug(name)}` },
        h('summary', {}, h('code', { text: name }), h('span.summary', { text: typeLabel(schemas[name]) === name ? '' : typeLabel(schemas[name]) })));
      item.addEventListener('toggle', () => {
        if (!item.open || item.childElementCount > 1) return;
        if (schemas[name].description) item.append(h('div.description', {}, rich(schemas[name].description)));
        item.append(schemaView({ $ref: `#/components/schemas/${name}` }, new Set()));
      });
      section.append(item);
    }
    return section;
  }

  /** Opens the operation or schema the URL's fragment names, and the details around it. */
  function openTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (!target) return;
    const details = target.matches('details') ? target : target.querySelector(':scope > details');
    if (details) details.open = true;
    target.scrollIntoView({ block: 'start' });
  }

  function setupFilter() {
    const input = document.getElementById('filter');
    input.addEventListener('input', () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const op of document.querySelectorAll('article.operation')) {
        const shown = words.every((w) => op.dataset.search.includes(w));
        op.hidden = !shown;
        const entry = document.querySelector(`#toc li[data-op="${op.id}"]`);
        if (entry) entry.hidden = !shown;
      }
      for (const section of document.querySelectorAll('section.tag:not(.schemas)')) {
        section.hidden = !section.querySelector('article.operation:not([hidden])');
      }
      for (const entry of document.querySelectorAll('#toc li[data-tag]')) {
        entry.hidden = !entry.querySelector('li[data-op]:not([hidden])');
      }
    });
    document.addEventListener('keydown', (event) => {
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement && document.activeElement.tagName);
      if (event.key === '/' && !typing) { event.preventDefault(); input.focus(); }
      if (event.key === 'Escape' && document.activeElement === input) { input.value = ''; input.dispatchEvent(new Event('input')); }
    });
  }

  async function main() {
    const status = document.getElementById('status');
    let spec;
    try {
      const response = await fetch('openapi.json', { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(`openapi.json answered ${response.status}`);
      spec = await response.json();
    } catch (error) {
      status.textContent = `Could not load the API description: ${error.message}`;
      status.classList.add('error');
      return;
    }
    const count = render(spec);
    status.textContent = `${count} operations`;
    status.className = 'visually-hidden';
    setupFilter();
    window.addEventListener('hashchange', openTarget);
    openTarget();
    document.body.dataset.ready = 'true';
  }

  main();
})();
