"""The narration core: text → chapters → sentences → audio → a tagged MP3 with sidecars.

Pure domain code: nothing here imports Flask, Celery or a particular speech engine. Front ends
(the CLI, the web service, the workers) compose these functions; engines come in through the
`Engine` protocol in `narration.engine`.
"""
