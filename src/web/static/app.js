// The dashboard's page: one server-sent event stream (/api/stream) gives the whole picture, then the
// differences; the page keeps the model and redraws what it shows once per animation frame. A service's
// logs come on a second stream while that service is selected. Nothing here polls.

const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
const MAX_LOG_LINES = 1000;

const model = {
  nodes: new Map(),
  services: new Map(),
  tasks: new Map(),
  events: [],
  revision: 0,
};
const ui = {
  selectedTask: null,
  selectedService: null,
  logs: null,
  unavailable: null,
  frame: 0,
};

const $ = (id) => document.getElementById(id);

function esc(value) {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function shortId(id) {
  return String(id ?? '').slice(0, 12);
}

function ago(timestamp) {
  const ms = Date.now() - Date.parse(timestamp);
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

// ------------------------------------------------------------------ the stream

function connect() {
  const stream = new EventSource('/api/stream');
  const connection = $('connection');
  stream.addEventListener('snapshot', (e) => {
    const snapshot = JSON.parse(e.data);
    model.nodes = new Map(snapshot.nodes.map((n) => [n.id, n]));
    model.services = new Map(snapshot.services.map((s) => [s.id, s]));
    model.tasks = new Map(snapshot.tasks.map((t) => [t.id, t]));
    model.events = snapshot.events;
    model.revision = snapshot.revision;
    ui.unavailable = null;
    setConnection(connection, 'live');
    redraw();
  });
  stream.addEventListener('diff', (e) => {
    const diff = JSON.parse(e.data);
    for (const kind of ['nodes', 'services', 'tasks']) {
      for (const view of diff.upsert[kind]) model[kind].set(view.id, view);
      for (const id of diff.remove[kind]) model[kind].delete(id);
    }
    model.events = model.events.concat(diff.events).slice(-200);
    model.revision = diff.revision;
    redraw();
  });
  stream.addEventListener('unavailable', (e) => {
    ui.unavailable = JSON.parse(e.data).message;
    model.nodes.clear();
    model.services.clear();
    model.tasks.clear();
    model.events = [];
    setConnection(connection, 'unavailable');
    redraw();
  });
  stream.addEventListener('error', () => {
    if (stream.readyState !== EventSource.CLOSED) setConnection(connection, 'reconnecting');
  });
}

function setConnection(element, state) {
  element.dataset.state = state;
  element.textContent = state === 'live' ? 'live' : state;
}

function followLogs(serviceId) {
  ui.logs?.close();
  ui.logs = null;
  const pre = $('logs');
  pre.textContent = '';
  $('logs-panel').hidden = !serviceId;
  if (!serviceId) return;
  const service = model.services.get(serviceId);
  $('logs-title').textContent = `Logs: ${service?.name ?? shortId(serviceId)}`;
  const stream = new EventSource(`/api/logs?service=${encodeURIComponent(serviceId)}`);
  ui.logs = stream;
  stream.addEventListener('lines', (e) => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const fragment = document.createDocumentFragment();
    for (const line of JSON.parse(e.data)) {
      const span = document.createElement('span');
      span.className = line.stream;
      const task = model.tasks.get(line.task);
      span.textContent = `${task?.name ?? shortId(line.task)} | ${line.line}\n`;
      fragment.append(span);
    }
    pre.append(fragment);
    while (pre.childNodes.length > MAX_LOG_LINES) pre.firstChild.remove();
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  stream.addEventListener('end', () => stream.close());
}

// ------------------------------------------------------------------ drawing

function redraw() {
  if (ui.frame) return;
  ui.frame = requestAnimationFrame(() => {
    ui.frame = 0;
    draw();
  });
}

function draw() {
  const unavailable = $('unavailable');
  unavailable.hidden = !ui.unavailable;
  unavailable.textContent = ui.unavailable ?? '';
  drawSummary();
  drawGrid();
  drawServices();
  drawDetail();
  drawEvents();
  document.body.dataset.revision = String(model.revision);
}

function drawSummary() {
  const nodes = [...model.nodes.values()];
  const ready = nodes.filter((n) => n.state === 'ready').length;
  const running = [...model.tasks.values()].filter((t) => t.state === 'running').length;
  $('summary').textContent = ui.unavailable
    ? ''
    : `${ready}/${nodes.length} nodes ready · ${model.services.size} services · ${running} tasks running`;
}

/** Tasks a column shows: not finished, or meant to run (a failure shows until it is replaced). */
function shown(task) {
  return !TERMINAL.has(task.state) || task.desired === 'running';
}

function taskOrder(a, b) {
  return a.name.localeCompare(b.name, undefined, { numeric: true }) || a.createdAt.localeCompare(b.createdAt);
}

function drawGrid() {
  const byNode = new Map();
  for (const task of model.tasks.values()) {
    if (!shown(task)) continue;
    const key = task.node || '';
    if (!byNode.has(key)) byNode.set(key, []);
    byNode.get(key).push(task);
  }
  const nodes = [...model.nodes.values()].sort(
    (a, b) =>
      (a.role === 'manager' ? 0 : 1) - (b.role === 'manager' ? 0 : 1) || a.hostname.localeCompare(b.hostname),
  );
  const columns = nodes.map((node) => {
    const tasks = (byNode.get(node.id) ?? []).sort(taskOrder);
    const role = node.role === 'manager' ? (node.leader ? 'manager ★ leader' : 'manager') : 'worker';
    return `<section class="node" data-node="${esc(node.id)}" data-hostname="${esc(node.hostname)}"
        data-state="${esc(node.state)}" data-availability="${esc(node.availability)}">
      <header>
        <div class="hostname">${esc(node.hostname)}</div>
        <div class="facts"><span class="node-state">${esc(node.state)}</span> · ${esc(node.availability)} · ${esc(role)}</div>
        <div class="facts">${esc(node.addr)}${node.engine ? ` · ${esc(node.engine)}` : ''}</div>
      </header>
      <div class="tasks">${tasks.map(taskBox).join('')}</div>
    </section>`;
  });
  const unassigned = byNode.get('') ?? [];
  if (unassigned.length > 0) {
    columns.push(`<section class="node" data-node="" data-state="unknown">
      <header><div class="hostname">not placed</div><div class="facts">waiting for a node</div></header>
      <div class="tasks">${unassigned.sort(taskOrder).map(taskBox).join('')}</div>
    </section>`);
  }
  $('grid').innerHTML = columns.join('') || '<p class="muted">no nodes</p>';
}

function taskBox(task) {
  const classes = ['task'];
  if (task.desired !== 'running' && task.desired !== 'ready' && task.desired !== 'complete')
    classes.push('stopping');
  if (!task.upToDate) classes.push('outdated');
  if (task.id === ui.selectedTask) classes.push('selected');
  if (task.service === ui.selectedService) classes.push('highlight');
  const health =
    task.health && task.health !== 'none' ? `<span class="health">${esc(task.health)}</span>` : '';
  return `<button type="button" class="${classes.join(' ')}" data-task="${esc(task.id)}"
      data-service="${esc(task.service)}" data-state="${esc(task.state)}" data-desired="${esc(task.desired)}"
      title="${esc(`${task.name}: ${task.state}${task.err ? ` — ${task.err}` : ''}`)}">${esc(task.name)}${health}</button>`;
}

function serviceHealth(service) {
  if (service.desired > 0 && service.running === 0) return 'down';
  if (service.running < service.desired) return 'degraded';
  return 'ok';
}

function drawServices() {
  const services = [...model.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  const tasksByService = new Map();
  for (const task of model.tasks.values()) {
    if (!tasksByService.has(task.service)) tasksByService.set(task.service, []);
    tasksByService.get(task.service).push(task);
  }
  $('services').innerHTML =
    services
      .map((service) => {
        const tasks = tasksByService.get(service.id) ?? [];
        const health = serviceHealth(service);
        const mode = service.replicas !== undefined ? `${service.replicas} replicas` : service.mode;
        const failing = tasks.filter((t) => (t.state === 'failed' || t.state === 'rejected') && t.err).length;
        return `<article class="service${service.id === ui.selectedService ? ' selected' : ''}" data-service="${esc(service.id)}"
            data-name="${esc(service.name)}" data-running="${service.running}" data-desired="${service.desired}"
            data-image="${esc(service.image)}" data-health="${health}" data-update-state="${esc(service.update?.state ?? '')}">
          <div class="name">${esc(service.name)} <span class="muted replicas">${service.running}/${service.desired}</span></div>
          <progress class="bar" max="${Math.max(service.desired, 1)}" value="${Math.min(service.running, service.desired)}"></progress>
          <div class="meta">${esc(mode)} · ${esc(service.image)}${service.stack ? ` · stack ${esc(service.stack)}` : ''}</div>
          <div class="meta">health: ${health}${failing ? ` · ${failing} failed task${failing > 1 ? 's' : ''} in history` : ''}</div>
          ${updateLine(service, tasks)}
        </article>`;
      })
      .join('') || '<p class="muted">no services</p>';
}

function updateLine(service, tasks) {
  const update = service.update;
  if (!update) return '';
  const meant = tasks.filter((t) => t.desired === 'running');
  const updated = meant.filter((t) => t.upToDate && t.state === 'running').length;
  const total = service.replicas ?? meant.length;
  const rollback = update.state.startsWith('rollback');
  const progress =
    update.state === 'updating' || update.state === 'rollback_started'
      ? ` · ${updated}/${total} ${rollback ? 'rolled back' : 'updated'}`
      : '';
  return `<div class="update" data-state="${esc(update.state)}">${rollback ? 'rollback' : 'update'}: ${esc(update.state.replace('rollback_', ''))}${progress}${
    update.message ? ` — ${esc(update.message)}` : ''
  }</div>`;
}

function drawDetail() {
  const panel = $('detail-panel');
  const task = ui.selectedTask ? model.tasks.get(ui.selectedTask) : undefined;
  panel.hidden = !task;
  if (!task) return;
  const node = model.nodes.get(task.node);
  const history = [...model.tasks.values()]
    .filter((t) => t.service === task.service && (task.slot ? t.slot === task.slot : t.node === task.node))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  $('detail-title').textContent = `Task ${task.name}`;
  $('detail').innerHTML = `<dl class="detail">
      <dt>ID</dt><dd>${esc(task.id)}</dd>
      <dt>Node</dt><dd>${esc(node?.hostname ?? task.node ?? '')}</dd>
      <dt>State</dt><dd>${esc(task.state)} (${esc(ago(task.timestamp))}), desired ${esc(task.desired)}</dd>
      <dt>Message</dt><dd>${esc(task.message)}</dd>
      ${task.err ? `<dt>Error</dt><dd class="err">${esc(task.err)}</dd>` : ''}
      ${task.exitCode !== undefined ? `<dt>Exit code</dt><dd>${esc(task.exitCode)}</dd>` : ''}
      <dt>Image</dt><dd>${esc(task.image)}${task.upToDate ? '' : ' (an older spec)'}</dd>
      ${task.health ? `<dt>Health</dt><dd>${esc(task.health)}</dd>` : ''}
    </dl>
    <table class="history"><thead><tr><th>History</th><th>State</th><th>Node</th><th>Error</th></tr></thead><tbody>
    ${history
      .map(
        (
          t,
        ) => `<tr data-history="${esc(t.id)}"><td>${esc(shortId(t.id))}<br><span class="muted">${esc(ago(t.createdAt))}</span></td>
          <td>${esc(t.state)} / ${esc(t.desired)}</td><td>${esc(model.nodes.get(t.node)?.hostname ?? '')}</td>
          <td class="err">${esc(t.err)}</td></tr>`,
      )
      .join('')}
    </tbody></table>`;
}

function drawEvents() {
  $('events').innerHTML = model.events
    .slice()
    .reverse()
    .map(
      (e) =>
        `<li data-event-type="${esc(e.type)}" data-event-action="${esc(e.action)}"><time>${esc(clock(e.time))}</time>${esc(e.type)} ${esc(e.action)} <b>${esc(e.name || shortId(e.id))}</b>${
          e.changes.length ? ` <span class="muted">${esc(e.changes.join(', '))}</span>` : ''
        }</li>`,
    )
    .join('');
}

// ------------------------------------------------------------------ choosing

document.addEventListener('click', (e) => {
  const target = e.target instanceof HTMLElement ? e.target : null;
  const task = target?.closest('[data-task]');
  if (task && task.closest('#grid')) {
    ui.selectedTask = ui.selectedTask === task.dataset.task ? null : task.dataset.task;
    redraw();
    return;
  }
  const service = target?.closest('.service[data-service]');
  if (service) {
    const id = service.dataset.service;
    ui.selectedService = ui.selectedService === id ? null : id;
    followLogs(ui.selectedService);
    redraw();
  }
});

connect();
