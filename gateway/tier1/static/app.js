/* ShopGuide demo page: the streamed chat with its background stages, summary and copywriting.
 *
 * Plain browser JavaScript, no build step, no dependency. The chat reads POST /v1/chat with
 * {"stream": true} as server-sent events through fetch + a ReadableStream reader (EventSource cannot
 * POST). Event contract (shared/events.py):
 *   session → intent → scene → call → products → knowledge → token… → suggestions → done, or error.
 */
(() => {
  'use strict';

  const STORAGE_KEY = 'shopguide.apiKey';
  const STORAGE_LANG = 'shopguide.lang';
  const DEFAULT_KEY = 'dev-key';
  const MAX_MESSAGES = 100; // the services' default SG_MAX_MESSAGES
  const STAGES = ['intent', 'scene', 'call', 'products', 'knowledge'];
  const SHOPPING_INTENTS = new Set(['intended shopping', 'specific scenarios', 'specific needs', 'specific brand']);
  const INTENT_ZH = {
    'random chat': '闲聊',
    'random shopping': '随便逛逛',
    'intended shopping': '有购买意向',
    'specific scenarios': '明确场景',
    'specific needs': '明确需求',
    'specific brand': '明确品牌',
  };
  const SUMMARY_KEYS = [
    ['用户问题', 'problem', 'Problem'],
    ['客服方案', 'solution', 'Solution'],
    ['是否接受', 'accepted', 'Accepted?'],
    ['是否负面情绪', 'negative', 'Negative mood?'],
  ];
  // An example customer-service dialog (a late parcel).
  const SUMMARY_EXAMPLE = [
    '用户：你好，我购买的商品一直没有收到，能帮我查一下物流信息吗？',
    '客服：您好，非常抱歉给您带来不便。请问您能提供一下订单号吗？我帮您查询一下物流信息。',
    '用户：订单号是123456789，麻烦你了。',
    '客服：好的，我帮您查询一下。根据物流信息显示，您的包裹目前正在途中，预计明天就能送达，请您耐心等待一下。',
    '用户：好的，谢谢你。',
    '客服：不客气，如果后续有任何问题，欢迎您随时联系我们。',
  ].join('\n');

  // ------------------------------------------------------------------------------------------- utils

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  /** Element builder: h('p', {class: 'x', dataset: {testid: 'y'}}, 'text', child…). */
  function h(tag, props = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** An English label followed by its Chinese in parentheses, the Chinese marked lang="zh". */
  function bi(en, zh) {
    const frag = document.createDocumentFragment();
    frag.append(en + ' ', h('span', { lang: 'zh' }, `(${zh})`));
    return frag;
  }

  const hasCJK = (text) => /[\u3400-\u9fff\uf900-\ufaff]/.test(text || '');

  function formatPrice(price) {
    if (price === null || price === undefined || price === '' || Number.isNaN(Number(price))) return '';
    const value = Number(price);
    return '¥' + value.toLocaleString('en-US', {
      minimumFractionDigits: Number.isInteger(value) ? 0 : 2,
      maximumFractionDigits: 2,
    });
  }

  function stars(score) {
    const n = Math.max(0, Math.min(5, Math.round(Number(score))));
    return '★'.repeat(n) + '☆'.repeat(5 - n);
  }

  function ms(t) {
    return t < 1000 ? `${Math.round(t)} ms` : `${(t / 1000).toFixed(1)} s`;
  }

  // --------------------------------------------------------------------------------- SSE over fetch

  /**
   * Incremental parser of text/event-stream (the WHATWG rules): lines end in \n, \r\n or \r, and a
   * frame can be split anywhere between two network chunks, even inside a \r\n pair or a UTF-8 code
   * point (the TextDecoder in streamEvents keeps partial code points). A blank line dispatches.
   */
  class SSEParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.buffer = '';
      this.eventName = '';
      this.dataLines = [];
    }

    push(text) {
      this.buffer += text;
      let start = 0;
      const buf = this.buffer;
      for (let i = 0; i < buf.length; i++) {
        const ch = buf[i];
        if (ch !== '\n' && ch !== '\r') continue;
        if (ch === '\r' && i === buf.length - 1) break; // maybe the first half of \r\n: wait for more
        this.line(buf.slice(start, i));
        if (ch === '\r' && buf[i + 1] === '\n') i++;
        start = i + 1;
      }
      this.buffer = buf.slice(start);
    }

    /** The stream is over: a last line without its terminator still counts, then dispatch. */
    end() {
      if (this.buffer) {
        const rest = this.buffer.replace(/\r$/, '');
        this.buffer = '';
        this.line(rest);
      }
      this.dispatch();
    }

    line(line) {
      if (line === '') return this.dispatch();
      if (line[0] === ':') return; // comment / keep-alive
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') this.eventName = value;
      else if (field === 'data') this.dataLines.push(value);
      // id: and retry: mean nothing to a one-shot POST stream.
    }

    dispatch() {
      const name = this.eventName || 'message';
      const lines = this.dataLines;
      this.eventName = '';
      this.dataLines = [];
      if (!lines.length) return;
      const raw = lines.join('\n');
      let data;
      try {
        data = JSON.parse(raw);
      } catch {
        data = { text: raw };
      }
      this.onEvent(name, data);
    }
  }

  async function streamEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder('utf-8');
    const parser = new SSEParser(onEvent);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  }

  // ------------------------------------------------------------------------------------------- API

  function apiKey() {
    return $('#api-key').value.trim();
  }

  function post(path, body, { signal, stream = false } = {}) {
    const headers = {
      'Content-Type': 'application/json',
      Accept: stream ? 'text/event-stream' : 'application/json',
    };
    const key = apiKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    return fetch(path, { method: 'POST', headers, body: JSON.stringify(body), signal, cache: 'no-store' });
  }

  /** The platform's error body {"error": {type, message, request_id}} (or FastAPI's {detail}) as an error event. */
  async function errorFrom(response) {
    const requestId = response.headers.get('x-request-id') || '';
    let type = `http_${response.status}`;
    let message = response.statusText || 'request failed';
    try {
      const body = await response.json();
      const err = body.error || body;
      if (err.type) type = err.type;
      if (typeof err.message === 'string') message = err.message;
      else if (typeof err.detail === 'string') message = err.detail;
      else if (err.detail) message = JSON.stringify(err.detail);
    } catch {
      /* not JSON: keep the status text */
    }
    if (response.status === 401 || response.status === 403) {
      message += ' — check the API key field (请检查 API 密钥)';
    }
    return { type, message: `${response.status}: ${message}`, request_id: requestId };
  }

  /**
   * POST and hand every event to onEvent. A text/event-stream answer is parsed as it arrives; a JSON
   * answer (a non-streaming upstream, a cached reply) becomes one `done` event; an HTTP error one `error`.
   */
  async function postEvents(path, body, onEvent, signal) {
    const response = await post(path, body, { signal, stream: true });
    if (!response.ok) {
      onEvent('error', await errorFrom(response));
      return;
    }
    const type = response.headers.get('content-type') || '';
    if (type.includes('text/event-stream') && response.body) {
      await streamEvents(response, onEvent);
    } else {
      onEvent('done', await response.json());
    }
  }

  // ----------------------------------------------------------------------------------------- state

  const state = {
    sessionId: null,
    history: [], // [{role, content}] of finished turns, for copywriting and the summary
    intents: [], // the intent trajectory of this session
    products: new Map(), // skuId → skuInfo, every product shown this session
    shown: { products: [], relaxed: [], call: null }, // the latest products stage, re-rendered on language change
    turnLang: 'en',
    copyPick: null, // the skuId picked in the copywriting form
    controller: null,
    busy: false,
  };

  function productLang() {
    const chosen = $('#lang').value;
    return chosen === 'auto' ? state.turnLang : chosen;
  }

  function productName(product, lang = productLang()) {
    if (lang === 'en') return product.skuNameEn || product.skuName || product.skuId;
    return product.skuName || product.skuNameEn || product.skuId;
  }

  // ------------------------------------------------------------------------------------------ tabs

  function initTabs() {
    const tabs = $$('[role="tab"]');
    const select = (tab, focus = true) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute('aria-selected', String(on));
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
      }
      if (focus) tab.focus();
      if (tab.id === 'tab-copy') refreshCopyProducts();
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => select(tab));
      tab.addEventListener('keydown', (e) => {
        const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length]);
      });
    });
    return (id) => select(document.getElementById(id), false);
  }

  // ---------------------------------------------------------------------------------------- stages

  function stageEl(name) {
    return document.getElementById(`stage-${name}`);
  }

  function setStage(name, stateName, meta = '', body = null) {
    const el = stageEl(name);
    el.dataset.state = stateName;
    $('.stage-meta', el).textContent = meta;
    if (body) $('.stage-body', el).replaceChildren(body);
  }

  function resetStages(to) {
    for (const name of STAGES) {
      const body = to === 'pending'
        ? h('p', { class: 'placeholder pending-text' }, bi('Waiting…', '等待中'))
        : h('p', { class: 'placeholder' }, '—');
      setStage(name, to, '', body);
    }
  }

  function skipStage(name, why) {
    setStage(name, 'skipped', 'skipped', h('p', { class: 'placeholder' }, why));
  }

  function renderIntent(data) {
    const label = data.intent || 'random chat';
    const shopping = SHOPPING_INTENTS.has(label);
    const body = h('div', { class: 'intent' });
    body.append(
      h('div', { class: 'intent-row' },
        h('span', {
          class: `intent-label ${shopping ? 'shopping' : 'chat'}`,
          'data-testid': 'intent-label',
          'data-shopping': String(shopping),
        }, label),
        h('span', { class: 'intent-zh', lang: 'zh' }, INTENT_ZH[label] || ''),
        h('span', { class: `badge ${shopping ? 'ok' : ''}` }, shopping ? bi('shopping', '购物') : bi('chit-chat', '闲聊'))));
    if (typeof data.confidence === 'number') {
      const pct = Math.round(data.confidence * 100);
      body.append(h('div', { class: 'confidence' },
        h('label', { for: 'intent-confidence' }, bi('Confidence', '置信度')),
        h('meter', { id: 'intent-confidence', min: 0, max: 1, low: 0.5, high: 0.8, optimum: 1, value: data.confidence }),
        h('span', { class: 'num', 'data-testid': 'intent-confidence' }, `${pct}%`)));
    }
    if (data.engine) body.append(h('p', { class: 'kv' }, h('span', { class: 'k' }, bi('Engine', '引擎')), h('span', { class: 'badge engine', 'data-testid': 'intent-engine' }, data.engine)));
    if (data.reason) body.append(h('p', { class: 'reason' }, data.reason));
    if (state.intents.length) {
      body.append(h('p', { class: 'trajectory muted small' }, bi('Trajectory', '意图轨迹'), ': ',
        [...state.intents.slice(-5), label].join(' → ')));
    }
    return body;
  }

  function renderScene(data) {
    const empty = h('span', { class: 'muted' }, bi('not mentioned', '未提及'));
    return h('dl', { class: 'scene' },
      h('dt', {}, bi('Aim', '用途')), h('dd', { 'data-testid': 'scene-aim' }, data.aim || empty.cloneNode(true)),
      h('dt', {}, bi('Scene', '场景')), h('dd', { 'data-testid': 'scene-scene' }, data.scene || empty));
  }

  function renderCall(call) {
    if (!call) return h('p', { class: 'placeholder' }, bi('No call — chit-chat turn', '无需调用，闲聊分支'));
    return h('div', {},
      h('p', { class: 'call-name' }, h('code', {}, call.name || 'get_recommds_by_sku'), ' ',
        h('span', { class: 'muted small' }, bi(`${Object.keys(call.arguments || {}).length} arguments`, '参数'))),
      h('pre', { class: 'json', 'data-testid': 'call-json', tabindex: 0, 'aria-label': 'The extracted API call as JSON' },
        h('code', {}, JSON.stringify(call, null, 2))));
  }

  function topAttributes(product, call, n = 4) {
    const attrs = Object.entries(product.attributes || {}).filter(([, v]) => v !== null && v !== '' && typeof v !== 'object');
    const asked = new Set(Object.keys((call && call.arguments) || {}).map((k) => k.toLowerCase()));
    // What the user asked about first, then the rest in catalog order.
    attrs.sort(([a], [b]) => Number(asked.has(b.toLowerCase())) - Number(asked.has(a.toLowerCase())));
    return attrs.slice(0, n).map(([k, v]) => ({ key: k, value: String(v), asked: asked.has(k.toLowerCase()) }));
  }

  function productCard(product, call) {
    const card = $('#tpl-product').content.firstElementChild.cloneNode(true);
    const lang = productLang();
    card.dataset.sku = product.skuId || '';
    const name = $('.product-name', card);
    name.textContent = productName(product, lang);
    name.lang = hasCJK(name.textContent) ? 'zh' : 'en';
    name.title = lang === 'en' ? (product.skuName || '') : (product.skuNameEn || '');
    $('.price', card).textContent = formatPrice(product.price);
    const meta = $('.product-meta', card);
    $('.brand', card).textContent = product.brand || '';
    if (product.category) meta.append(h('span', { class: 'sep', 'aria-hidden': 'true' }, '·'), h('span', {}, product.category));
    if (product.skuId) meta.append(h('span', { class: 'sep', 'aria-hidden': 'true' }, '·'), h('code', { class: 'sku' }, product.skuId));
    const list = $('.attrs', card);
    for (const attr of topAttributes(product, call)) {
      list.append(h('li', { class: attr.asked ? 'asked' : '', title: attr.asked ? 'You asked about this (你关注的属性)' : null },
        h('span', { class: 'attr-k' }, attr.key), h('span', { class: 'attr-v' }, attr.value)));
    }
    if (!list.children.length) list.remove();
    const review = (product.skuCommentList || [])[0];
    const quote = $('.review', card);
    if (review && review.commentContent) {
      quote.lang = hasCJK(review.commentContent) ? 'zh' : 'en';
      quote.append(h('p', {}, review.commentContent));
      if (review.score !== null && review.score !== undefined) {
        quote.append(h('footer', {}, h('span', { class: 'stars', role: 'img', 'aria-label': `${review.score} / 5` }, stars(review.score)),
          ' ', h('span', { class: 'muted small' }, bi('first review', '首条评价'))));
      }
    } else {
      quote.remove();
    }
    $('[data-action="copy"]', card).addEventListener('click', () => openCopywriting(product));
    return card;
  }

  function renderProducts(products, relaxed, call) {
    const wrap = h('div', {});
    if (relaxed && relaxed.length) {
      wrap.append(h('p', { class: 'note' }, bi('Nothing matched every filter; relaxed', '放宽条件'), ': ',
        relaxed.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(', ')));
    }
    if (!products.length) {
      wrap.append(h('p', { class: 'placeholder' }, bi('No products found', '未找到商品')));
      return wrap;
    }
    wrap.append(h('div', { class: 'products', 'data-testid': 'products' }, products.map((p) => productCard(p, call))));
    return wrap;
  }

  /** A knowledge passage as a title and plain text: the guides are Markdown, the panel shows prose. */
  function knowledgeParts(text) {
    const lines = String(text || '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    const clean = (l) => l.replace(/^#{1,6}\s*/, '').replace(/^[-*+]\s+/, '• ').replace(/\*\*|__|`/g, '');
    const title = lines.length > 1 ? clean(lines.shift()) : '';
    return { title, body: lines.map(clean).join('\n') };
  }

  function renderKnowledge(hits) {
    if (!hits.length) return h('p', { class: 'placeholder' }, bi('No knowledge found', '未召回知识'));
    return h('ul', { class: 'knowledge' }, hits.map((hit, i) => {
      const { title, body } = knowledgeParts(hit.text);
      const id = `knowledge-text-${i}`;
      const text = h('p', { class: `k-text${body.length > 160 ? ' clamped' : ''}`, id }, body);
      const more = body.length > 160
        ? h('button', {
          type: 'button',
          class: 'link-btn',
          'aria-expanded': 'false',
          'aria-controls': id,
          onclick: (e) => {
            const open = text.classList.toggle('clamped') === false;
            e.currentTarget.setAttribute('aria-expanded', String(open));
            e.currentTarget.textContent = open ? 'Less (收起)' : 'More (展开)';
          },
        }, 'More (展开)')
        : null;
      return h('li', { 'data-testid': 'knowledge-hit', lang: hasCJK(hit.text) ? 'zh' : 'en' },
        title ? h('p', { class: 'k-title' }, title) : null,
        text,
        h('p', { class: 'source' },
          h('span', { class: 'muted' }, bi('Source', '来源'), ': '),
          h('cite', {}, hit.source || '—'),
          more,
          typeof hit.score === 'number' ? h('span', { class: 'badge' }, `score ${hit.score.toFixed(2)}`) : null));
    }));
  }

  function rememberProducts(products) {
    for (const p of products) if (p && p.skuId) {
      state.products.delete(p.skuId); // re-insert: the most recent last
      state.products.set(p.skuId, p);
    }
  }

  // ------------------------------------------------------------------------------------------ chat

  const messagesEl = () => $('#messages');

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  function scrollDown(force = false) {
    const el = messagesEl();
    if (force || nearBottom(el)) el.scrollTop = el.scrollHeight;
  }

  function addUserBubble(text) {
    $('#welcome')?.remove();
    const el = h('div', { class: 'msg user', 'data-testid': 'user-message', lang: hasCJK(text) ? 'zh' : 'en' },
      h('span', { class: 'visually-hidden' }, 'You said: '),
      h('div', { class: 'bubble' }, text));
    messagesEl().append(el);
    scrollDown(true);
  }

  function addBotBubble() {
    const text = h('div', { class: 'bot-text', 'data-testid': 'bot-text' });
    const bubble = h('div', { class: 'bubble' }, text, h('span', { class: 'caret', 'aria-hidden': 'true' }));
    const meta = h('div', { class: 'msg-meta' });
    const el = h('div', {
      class: 'msg bot',
      'data-testid': 'bot-message',
      'data-state': 'streaming',
      'data-tokens': '0',
      'aria-busy': 'true',
    }, h('span', { class: 'visually-hidden' }, 'Shopping guide: '), bubble, meta);
    messagesEl().append(el);
    scrollDown(true);
    return { el, text, bubble, meta };
  }

  function setSession(id) {
    if (!id) return;
    state.sessionId = id;
    $('#session-id').textContent = id;
    $('#session-id').title = id;
  }

  function renderSuggestions(list) {
    const box = $('#suggestions');
    const chips = $('#suggestion-chips');
    chips.replaceChildren(...list.filter((s) => typeof s === 'string' && s.trim()).map((s) =>
      h('button', { type: 'button', class: 'chip', 'data-testid': 'suggestion', lang: hasCJK(s) ? 'zh' : 'en' }, s)));
    box.hidden = !chips.children.length;
  }

  function setBusy(busy) {
    state.busy = busy;
    const send = $('#send');
    send.classList.toggle('busy', busy);
    send.setAttribute('aria-label', busy ? 'Stop the reply (停止生成)' : 'Send (发送)');
    for (const chip of $$('#suggestion-chips .chip, #examples .chip')) chip.disabled = busy;
  }

  async function sendMessage(raw) {
    const text = (raw || '').trim();
    if (!text || state.busy) return;
    state.turnLang = hasCJK(text) ? 'zh' : 'en';
    addUserBubble(text);
    $('#chat-input').value = '';
    renderSuggestions([]);
    const bot = addBotBubble();
    resetStages('pending');
    $('#stages-status').textContent = 'Running… (运行中)';
    setBusy(true);

    const controller = new AbortController();
    state.controller = controller;
    const started = performance.now();
    const turn = { reply: '', tokens: 0, seen: new Set(), done: null, error: null, intent: null };
    const since = () => ms(performance.now() - started);

    const setReply = (reply) => {
      turn.reply = reply;
      bot.text.textContent = reply;
      scrollDown();
    };

    const markPendingSkipped = (why) => {
      for (const name of STAGES) if (stageEl(name).dataset.state === 'pending') skipStage(name, why);
    };

    const stage = (name, body) => {
      turn.seen.add(name);
      setStage(name, 'done', `+${since()}`, body);
    };

    const showError = (err) => {
      turn.error = err;
      const box = h('div', { class: 'error-box', 'data-testid': 'chat-error' },
        h('strong', {}, bi('Error', '出错'), ` · ${err.type || 'error'}`), h('p', {}, err.message || 'unknown error'),
        err.request_id ? h('p', { class: 'muted small' }, 'request id: ', h('code', {}, err.request_id)) : null);
      bot.bubble.append(box);
      for (const name of STAGES) {
        if (stageEl(name).dataset.state === 'pending') {
          setStage(name, 'error', '', h('p', { class: 'placeholder' }, bi('Not reached', '未执行')));
        }
      }
      scrollDown();
    };

    const onEvent = (name, data) => {
      data = data || {};
      switch (name) {
        case 'session':
          setSession(data.session_id);
          break;
        case 'intent':
          turn.intent = data.intent;
          stage('intent', renderIntent(data));
          break;
        case 'scene':
          stage('scene', renderScene(data));
          break;
        case 'call':
          stage('call', renderCall(data.call || null));
          state.shown.call = data.call || null;
          if (!data.call) {
            skipStage('products', bi('Skipped: not a shopping intent', '跳过：非购物意图'));
            skipStage('knowledge', bi('Skipped: not a shopping intent', '跳过：非购物意图'));
          }
          break;
        case 'products': {
          const products = Array.isArray(data.products) ? data.products : [];
          state.shown.products = products;
          state.shown.relaxed = data.relaxed || [];
          rememberProducts(products);
          state.copyPick = null; // new recommendations: the copy form offers the top one again
          stage('products', renderProducts(products, state.shown.relaxed, state.shown.call));
          $('.stage-meta', stageEl('products')).textContent = `${products.length} · +${since()}`;
          break;
        }
        case 'knowledge':
          stage('knowledge', renderKnowledge(Array.isArray(data.hits) ? data.hits : []));
          break;
        case 'token':
          if (typeof data.text === 'string') {
            turn.tokens += 1;
            bot.el.dataset.tokens = String(turn.tokens);
            if (turn.tokens === 1) bot.meta.dataset.firstToken = since();
            setReply(turn.reply + data.text);
          }
          break;
        case 'suggestions':
          renderSuggestions(Array.isArray(data.suggestions) ? data.suggestions : []);
          break;
        case 'done':
          turn.done = data;
          fillFromDone(data);
          break;
        case 'error':
          showError(data);
          break;
        default:
          break; // unknown events are ignored: the contract may grow
      }
    };

    /** A `done` (or a plain JSON reply) fills whatever the stream did not send. */
    const fillFromDone = (resp) => {
      setSession(resp.session_id);
      if (!turn.reply && typeof resp.reply === 'string') setReply(resp.reply);
      if (!turn.seen.has('intent') && resp.intent) {
        turn.intent = resp.intent;
        stage('intent', renderIntent({ intent: resp.intent, engine: resp.engines && resp.engines.intent }));
      }
      if (!turn.seen.has('scene') && resp.scene) stage('scene', renderScene(resp.scene));
      if (!turn.seen.has('call') && 'call' in resp) {
        stage('call', renderCall(resp.call));
        state.shown.call = resp.call;
      }
      if (!turn.seen.has('products') && Array.isArray(resp.products) && resp.call) {
        state.shown.products = resp.products;
        state.shown.relaxed = [];
        rememberProducts(resp.products);
        state.copyPick = null;
        stage('products', renderProducts(resp.products, [], resp.call));
      }
      if (!turn.seen.has('knowledge') && Array.isArray(resp.knowledge) && resp.call) {
        stage('knowledge', renderKnowledge(resp.knowledge));
      }
      if (Array.isArray(resp.suggestions) && resp.suggestions.length && !$('#suggestion-chips').children.length) {
        renderSuggestions(resp.suggestions);
      }
      if (resp.engines && Object.keys(resp.engines).length) {
        bot.meta.dataset.engines = Object.entries(resp.engines)
          .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ');
      }
    };

    try {
      const body = { message: text, stream: true };
      if (state.sessionId) body.session_id = state.sessionId;
      await postEvents('v1/chat', body, onEvent, controller.signal);
      if (!turn.done && !turn.error) {
        showError({ type: 'stream_ended', message: 'The stream ended before the reply was complete. (回复未完整结束)' });
      }
    } catch (err) {
      if (err && err.name === 'AbortError') {
        bot.bubble.append(h('p', { class: 'muted small stopped' }, bi('Stopped', '已停止')));
      } else {
        showError({ type: 'network_error', message: `${err && err.message ? err.message : err} — is the gateway running? (网关是否在运行？)` });
      }
    } finally {
      state.controller = null;
      const elapsed = performance.now() - started;
      bot.el.dataset.state = turn.error ? 'error' : turn.done ? 'done' : 'stopped';
      bot.el.setAttribute('aria-busy', 'false');
      $('.caret', bot.bubble)?.remove();
      if (!turn.reply && !turn.error && turn.done) setReply('…');
      const parts = [];
      if (bot.meta.dataset.firstToken) parts.push(`first token ${bot.meta.dataset.firstToken}`);
      parts.push(`total ${ms(elapsed)}`);
      if (turn.tokens) parts.push(`${turn.tokens} tokens streamed`);
      if (bot.meta.dataset.engines) parts.push(bot.meta.dataset.engines);
      bot.meta.textContent = parts.join(' · ');
      markPendingSkipped(turn.done ? bi('Skipped: not a shopping intent', '跳过：非购物意图') : bi('Not reached', '未执行'));
      $('#stages-status').textContent = turn.error
        ? 'Failed (失败)'
        : turn.done ? `Done in ${ms(elapsed)} (完成)` : 'Stopped (已停止)';
      if (turn.reply && !turn.error) {
        state.history.push({ role: 'user', content: text }, { role: 'assistant', content: turn.reply });
        if (turn.intent) state.intents.push(turn.intent);
      }
      setBusy(false);
      if (document.activeElement === document.body || document.activeElement === $('#send')) $('#chat-input').focus();
    }
  }

  function newSession() {
    if (state.controller) state.controller.abort();
    state.sessionId = null;
    state.history = [];
    state.intents = [];
    state.products = new Map();
    state.shown = { products: [], relaxed: [], call: null };
    state.copyPick = null;
    $('#session-id').textContent = 'new (新会话)';
    $('#session-id').removeAttribute('title');
    messagesEl().replaceChildren(welcomeTemplate.cloneNode(true));
    bindExamples();
    renderSuggestions([]);
    resetStages('idle');
    $('#stages-status').textContent = 'Waiting for a message (等待消息)';
    refreshCopyProducts();
    $('#chat-input').focus();
  }

  let welcomeTemplate = null;

  function bindExamples() {
    for (const chip of $$('#examples .chip')) chip.addEventListener('click', () => sendMessage(chip.textContent));
  }

  // --------------------------------------------------------------------------------------- summary

  function summaryFromChat() {
    if (!state.history.length) {
      $('#summary-result').replaceChildren(h('p', { class: 'placeholder' }, bi('The chat is empty — talk to the guide first', '当前对话为空')));
      return;
    }
    $('#summary-input').value = state.history
      .map((m) => `${m.role === 'user' ? '用户' : '客服'}：${m.content.replace(/\s*\n\s*/g, ' ')}`)
      .join('\n');
  }

  async function summarise(event) {
    event.preventDefault();
    const button = $('#summary-submit');
    const result = $('#summary-result');
    const conversation = $('#summary-input').value.trim();
    if (!conversation) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    $('#summary-engine').hidden = true;
    result.replaceChildren(h('p', { class: 'placeholder pending-text' }, bi('Summarising…', '生成中')));
    try {
      const response = await post('v1/summary', { conversation });
      if (!response.ok) throw Object.assign(new Error(), { event: await errorFrom(response) });
      const body = await response.json();
      const summary = body.summary || {};
      const dl = h('dl', { class: 'summary', lang: 'zh' });
      for (const [zh, en, label] of SUMMARY_KEYS) {
        const value = summary[zh] ?? summary[en] ?? '';
        const yesNo = value === '是' || value === '否';
        dl.append(
          h('dt', {}, h('span', {}, zh), ' ', h('span', { class: 'muted', lang: 'en' }, `(${label})`)),
          h('dd', { 'data-testid': `summary-${en}` },
            yesNo ? h('span', { class: `yn ${value === '是' ? 'yes' : 'no'} ${en}` }, value) : value));
      }
      result.replaceChildren(dl, h('details', { class: 'raw' }, h('summary', {}, 'JSON'), h('pre', { class: 'json' }, h('code', {}, JSON.stringify(body, null, 2)))));
      if (body.engine) {
        $('#summary-engine').textContent = `engine: ${body.engine}`;
        $('#summary-engine').hidden = false;
      }
    } catch (err) {
      const e = err.event || { type: 'network_error', message: err.message };
      result.replaceChildren(errorBox(e));
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  function errorBox(e) {
    return h('div', { class: 'error-box', role: 'alert' },
      h('strong', {}, bi('Error', '出错'), ` · ${e.type || 'error'}`), h('p', {}, e.message || ''),
      e.request_id ? h('p', { class: 'muted small' }, 'request id: ', h('code', {}, e.request_id)) : null);
  }

  // ----------------------------------------------------------------------------------- copywriting

  function refreshCopyProducts(selectSku) {
    const select = $('#copy-product');
    const previous = selectSku || state.copyPick;
    // The latest products stage first, in the guide's order, then the earlier ones, newest first.
    const latest = state.shown.products.filter((p) => p && state.products.has(p.skuId));
    const latestIds = new Set(latest.map((p) => p.skuId));
    const products = [...latest, ...[...state.products.values()].reverse().filter((p) => !latestIds.has(p.skuId))];
    if (!products.length) {
      select.replaceChildren(h('option', { value: '' }, 'No products yet — ask in the Chat tab (先在对话中获取推荐)'));
      select.disabled = true;
    } else {
      select.disabled = false;
      select.replaceChildren(...products.map((p) =>
        h('option', { value: p.skuId }, `${productName(p)}${p.price != null ? ' — ' + formatPrice(p.price) : ''}`)));
      if (previous && state.products.has(previous)) select.value = previous;
    }
    renderCopyPreview();
  }

  function renderCopyPreview() {
    const preview = $('#copy-preview');
    const sku = $('#copy-sku').value.trim();
    const product = sku ? state.products.get(sku) : state.products.get($('#copy-product').value);
    if (!product) {
      preview.replaceChildren(sku
        ? h('p', { class: 'muted small' }, bi(`${sku} is not among the products shown; it will be looked up`, '将按编号查询'))
        : '');
      return;
    }
    preview.replaceChildren(productCard(product, state.shown.call));
    $('[data-action="copy"]', preview)?.closest('.product-actions')?.remove();
  }

  function openCopywriting(product) {
    rememberProducts([product]);
    $('#copy-sku').value = '';
    showTab('tab-copy');
    state.copyPick = product.skuId;
    refreshCopyProducts();
    $('#copy-product').focus();
  }

  /** The skuInfo for the form: one shown in the chat, else the catalog's GET /v1/products/{skuId} if routed. */
  async function chosenProduct() {
    const sku = $('#copy-sku').value.trim();
    if (!sku) return state.products.get($('#copy-product').value) || null;
    if (state.products.has(sku)) return state.products.get(sku);
    const headers = { Accept: 'application/json' };
    if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
    let response;
    try {
      response = await fetch(`v1/products/${encodeURIComponent(sku)}`, { headers, cache: 'no-store' });
    } catch {
      response = null;
    }
    if (response && response.ok) {
      const product = await response.json();
      rememberProducts([product]);
      refreshCopyProducts();
      return product;
    }
    throw Object.assign(new Error(), {
      event: {
        type: 'unknown_product',
        message: `No product ${sku} among those shown in the chat` +
          (response && response.status === 404 ? ' or in the catalog' : '') +
          '. Ask the guide for products first, or pick one from the list. (未找到该商品)',
      },
    });
  }

  async function writeCopy(event) {
    event.preventDefault();
    const button = $('#copy-submit');
    const result = $('#copy-result');
    const engine = $('#copy-engine');
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    engine.hidden = true;
    const textEl = h('p', { class: 'copy-text', 'data-testid': 'copy-text' });
    try {
      const product = await chosenProduct();
      if (!product) {
        throw Object.assign(new Error(), { event: { type: 'no_product', message: 'Pick a product or type a skuId. (请选择商品或输入编号)' } });
      }
      const body = { product, stream: true };
      const messages = state.history.slice(-MAX_MESSAGES);
      if ($('#copy-with-chat').checked && messages.some((m) => m.role === 'user')) body.messages = messages;
      if ($('#copy-language').value) body.language = $('#copy-language').value;
      result.replaceChildren(h('p', { class: 'muted small' }, bi('For', '商品'), ': ', h('strong', {}, productName(product))), textEl);
      textEl.classList.add('streaming');
      let text = '';
      let failure = null;
      let finished = false;
      await postEvents('v1/copywriting', body, (name, data) => {
        if (name === 'token' && typeof data.text === 'string') {
          text += data.text;
          textEl.textContent = text;
        } else if (name === 'done') {
          finished = true;
          const full = data.copy ?? data.copy_text;
          if (typeof full === 'string') text = full;
          textEl.textContent = text;
          if (data.engine) {
            engine.textContent = `engine: ${data.engine}`;
            engine.hidden = false;
          }
        } else if (name === 'error') {
          failure = data;
        }
      });
      textEl.classList.remove('streaming');
      textEl.lang = hasCJK(text) ? 'zh' : 'en';
      if (failure) result.append(errorBox(failure));
      else if (!finished) result.append(errorBox({ type: 'stream_ended', message: 'The stream ended early. (生成未完整结束)' }));
      else {
        result.append(h('div', { class: 'actions' }, h('button', {
          type: 'button',
          class: 'btn ghost small',
          onclick: async (e) => {
            try {
              await navigator.clipboard.writeText(text);
              e.currentTarget.textContent = 'Copied (已复制)';
            } catch {
              e.currentTarget.textContent = 'Copy failed (复制失败)';
            }
          },
        }, bi('Copy text', '复制'))));
      }
    } catch (err) {
      result.replaceChildren(errorBox(err.event || { type: 'network_error', message: err.message }));
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  // ------------------------------------------------------------------------------------------ init

  let showTab = () => {};

  function init() {
    const key = $('#api-key');
    let stored = null;
    try {
      stored = localStorage.getItem(STORAGE_KEY);
    } catch {
      /* storage disabled */
    }
    key.value = stored ?? DEFAULT_KEY;
    key.addEventListener('input', () => {
      try {
        localStorage.setItem(STORAGE_KEY, key.value);
      } catch {
        /* storage disabled */
      }
    });
    $('#api-key-toggle').addEventListener('click', (e) => {
      const show = key.type === 'password';
      key.type = show ? 'text' : 'password';
      e.currentTarget.setAttribute('aria-pressed', String(show));
    });

    const lang = $('#lang');
    try {
      lang.value = localStorage.getItem(STORAGE_LANG) || 'auto';
    } catch {
      lang.value = 'auto';
    }
    lang.addEventListener('change', () => {
      try {
        localStorage.setItem(STORAGE_LANG, lang.value);
      } catch {
        /* storage disabled */
      }
      if (stageEl('products').dataset.state === 'done' && state.shown.products.length) {
        $('.stage-body', stageEl('products')).replaceChildren(
          renderProducts(state.shown.products, state.shown.relaxed, state.shown.call));
      }
      refreshCopyProducts();
    });

    showTab = initTabs();
    welcomeTemplate = $('#welcome').cloneNode(true);
    bindExamples();

    const input = $('#chat-input');
    $('#composer').addEventListener('submit', (e) => {
      e.preventDefault();
      if (state.busy) {
        state.controller?.abort();
        return;
      }
      sendMessage(input.value);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!state.busy) sendMessage(input.value);
      }
    });
    $('#suggestion-chips').addEventListener('click', (e) => {
      const chip = e.target.closest('.chip');
      if (chip && !state.busy) sendMessage(chip.textContent);
    });
    $('#new-session').addEventListener('click', newSession);

    $('#summary-input').value = SUMMARY_EXAMPLE;
    $('#summary-form').addEventListener('submit', summarise);
    $('#summary-from-chat').addEventListener('click', summaryFromChat);
    $('#summary-example').addEventListener('click', () => { $('#summary-input').value = SUMMARY_EXAMPLE; });

    $('#copy-form').addEventListener('submit', writeCopy);
    $('#copy-product').addEventListener('change', () => {
      state.copyPick = $('#copy-product').value;
      renderCopyPreview();
    });
    $('#copy-sku').addEventListener('input', renderCopyPreview);
    refreshCopyProducts();

    document.documentElement.dataset.ready = 'true';
  }

  // Exposed for the browser test and the console: the parser is the piece worth poking at.
  window.ShopGuide = { SSEParser, streamEvents, state };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
