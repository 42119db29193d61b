"""What test_models_quantize.py and test_ocr_quantize.py share: where vigil and
its models are, running the binary, a throwaway models directory linked to the
fetched float files (so `vigil models quantize` never writes into the user's),
and the checks' tally."""
import os
import shutil
import subprocess
import tempfile

SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VIGIL = os.environ.get("VIGIL_BINARY", os.path.join(SRC, "build", "vigil"))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "vigil")
MODELS = os.environ.get("VIGIL_MODELS", os.path.join(CACHE, "models"))
MEDIA = os.environ.get("VIGIL_MEDIA", os.path.join(CACHE, "media"))


def run(env, *args, timeout=600):
    return subprocess.run([VIGIL] + list(args), env=env, capture_output=True, text=True, timeout=timeout)


class Workspace:
    """A temporary directory with models/SUB/ holding links to the fetched
    MODELS/SUB files that keep(name) accepts; env has VIGIL_MODELS pointing
    there. Removed by close()."""

    def __init__(self, prefix, sub, keep):
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.models = os.path.join(self.work, "models")
        os.makedirs(os.path.join(self.models, sub))
        for f in os.listdir(os.path.join(MODELS, sub)):
            if keep(f):
                os.symlink(os.path.join(MODELS, sub, f), os.path.join(self.models, sub, f))
        self.env = dict(os.environ, VIGIL_MODELS=self.models)

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


class Checks:
    """Prints each check as ok / FAIL and counts the failures."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures.append(what)

    def exit_code(self):
        if self.failures:
            print("%d failed" % len(self.failures))
            return 1
        print("all passed")
        return 0
