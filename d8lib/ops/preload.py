"""What the server that forks report workers loads once, before it forks any
(``d8lib.ops.worker.PRELOAD``): papermill, nbconvert and the warm-kernel engine, and the
report template compiled in every language. A worker then loads nothing before it starts
its kernel, and its first report costs what the others do. Only the server imports this.
"""

from d8lib.core.labels import LANGUAGES
from d8lib.ops.worker import prepare

for language in LANGUAGES:
    prepare(language)
