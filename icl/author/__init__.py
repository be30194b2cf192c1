"""`icl author`: a local page for writing prompt templates against real items and a warm model.

`settings` turns the page's choices into the `RunSpec` a sweep would make (and back into sweep YAML),
`preview` builds, answers and scores one setting's items through the runner's own steps and cache,
`session` keeps the engine warm and does the page's work in one thread, `server` is the web layer
(Starlette), `guard` lets through only the launch's owner (token, Host, origin), and `page.html` is the
page itself (no external assets).
"""
