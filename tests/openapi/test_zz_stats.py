import collections, atexit
import schemathesis
from tests.openapi.test_schemathesis import *  # noqa
from tests.openapi import test_schemathesis as base
STATS = collections.Counter()
atexit.register(lambda: print("\nSTATS", sorted(STATS.items())))
@pytest.mark.slow

@schema.parametrize()
def test_stats(case, live):
    base._real_ids(case, live.known)
    r = case.call(base_url=live.url, session=live.session, timeout=30)
    STATS[(case.operation.method.upper() + " " + case.operation.path, r.status_code)] += 1
    open("/tmp/oa/stats.log", "a").write(f"{case.operation.method.upper()} {case.operation.path} {r.status_code}\n")
