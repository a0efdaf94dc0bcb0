(function () {
  var c = CONFIG;
  var here = location.pathname + location.search;
  // A page answering a form submission must never be reloaded (the browser
  // would post the form again): after the refresh it goes back to the page
  // the form was on instead.
  var resume = document.documentElement.getAttribute("data-ssr-session-resume");
  function toLogin() {
    var u = new URL(c.loginUrl, location.href);
    u.searchParams.set(c.redirectParam, here);
    location.replace(u.toString());
  }
  function back() {
    var to = here;
    try {
      var from = new URL(document.referrer);
      if (from.origin === location.origin) { to = from.pathname + from.search; }
    } catch (e) { /* no referrer: the same address, fetched with GET */ }
    location.replace(to);
  }
  var now = Date.now(), count = 0, first = now;
  var m = document.cookie.match(new RegExp("(?:^|; )" + c.guardCookie + "=(\\d+)-(\\d+)"));
  if (m && now - Number(m[2]) < c.windowMs) { count = Number(m[1]); first = Number(m[2]); }
  if (count >= c.maxAttempts) {
    document.cookie = c.guardCookie + "=; path=/; max-age=0; samesite=lax";
    toLogin();
    return;
  }
  var left = Math.max(1, Math.ceil((c.windowMs - (now - first)) / 1000));
  document.cookie = c.guardCookie + "=" + (count + 1) + "-" + first + "; path=/; max-age=" + left + "; samesite=lax";
  fetch(c.refreshUrl, {
    method: "POST",
    credentials: "include",
    headers: { "rid": "session", "fdi-version": c.fdiVersion, "st-auth-mode": "cookie" }
  }).then(function (r) {
    if (!r.ok) { toLogin(); } else if (resume === "back") { back(); } else { location.reload(); }
  }, toLogin);
})();
