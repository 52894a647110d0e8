/* t.h — a tiny TAP test helper for the unit tests.
 *
 *   T_CHECK(cond, "what", ...)   one test point: prints "ok - what" or "not ok - what"
 *   T_NEAR(a, b, rtol, "what")   |a-b| <= rtol*max(1,|b|)
 *   return t_done();             exit status 1 when any point failed
 *
 * tests/run.sh counts the "ok"/"not ok" lines of every test binary. */
#ifndef LMNAS_T_H
#define LMNAS_T_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int t_failed_count;

static inline int t_point(int ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		t_failed_count++;
	return ok;
}

#define T_CHECK(cond, ...) t_point((cond) ? 1 : 0, __VA_ARGS__)

static inline int t_near(double a, double b, double rtol, const char *what)
{
	double scale = fabs(b) > 1 ? fabs(b) : 1;
	int ok = fabs(a - b) <= rtol * scale;
	if (!ok)
		printf("# %s: got %.9g, want %.9g (rtol %g)\n", what, a, b, rtol);
	return t_point(ok, "%s", what);
}
#define T_NEAR(a, b, rtol, what) t_near((a), (b), (rtol), (what))

static inline int t_done(void)
{
	return t_failed_count ? 1 : 0;
}
#endif
