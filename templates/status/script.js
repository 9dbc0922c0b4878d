/* muster's status page: every few seconds (data-refresh, or ?refresh=N),
 * GET this page again (If-None-Match: a 304 when nothing changed) and put
 * in place each row and part that changed; no framework, no data rendered
 * here: the server escaped everything, and DOMParser runs no script. */
(function () {
	'use strict';
	var q = new URLSearchParams(location.search);
	var secs = Number(q.get('refresh') || document.body.getAttribute('data-refresh'));
	var etag = null;
	if (!(secs > 0))
		return;
	function rowIds(doc) {
		return Array.prototype.map.call(doc.querySelectorAll('[data-vm]'), function (n) {
			return n.id;
		}).join(' ');
	}
	function patch(doc) {
		/* the same VMs: each changed row or part; else each changed section */
		var sel = rowIds(doc) === rowIds(document) ? '[data-patch]' : '#asof, nav[id], section[id]';
		doc.querySelectorAll(sel).forEach(function (n) {
			var old = document.getElementById(n.id);
			if (old && old.outerHTML !== n.outerHTML)
				old.replaceWith(document.importNode(n, true));
		});
		document.title = doc.title;
		document.body.setAttribute('data-polled', Date.now());
	}
	function poll() {
		fetch(location.pathname, { cache: 'no-store', headers: etag ? { 'If-None-Match': etag } : {} })
			.then(function (r) {
				if (r.status !== 200)
					return;
				etag = r.headers.get('ETag');
				return r.text().then(function (t) {
					patch(new DOMParser().parseFromString(t, 'text/html'));
				});
			})
			.catch(function () {})
			.then(function () {
				setTimeout(poll, secs * 1000);
			});
	}
	setTimeout(poll, secs * 1000);
})();
