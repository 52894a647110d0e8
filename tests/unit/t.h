/* t.h — a tiny TAP test helper for the unit tests.
 *
 *   T_CHECK(cond, "what", ...)   one test point: prints "ok N - what" or "not ok N - what"
 *   T_NEAR(a, b, rtol, "what")   |a-b| <= rtol*max(1,|b|)
 *   t_skip("why")                a point that could not run: "ok N - # SKIP why", or, under CI
 *                                (CI=true), "not ok N - why": CI must have every input
 *   t_skip_cpu("why")            a point this CPU cannot run (an instruction set it lacks):
 *                                "ok N - # SKIP why", under CI too (no input can supply it)
 *   t_shared_dir()               shared/ (the paper models): $LMNAS_SHARED, else ../shared
 *   return t_done();             prints the plan "1..N"; exit status 1 when any point failed
 *
 * tests/run.sh counts the points of every test binary and checks them against the plan, so a
 * test that stops early fails even when every point it printed passed. */
#ifndef LMNAS_T_H
#define LMNAS_T_H
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_count;
static int t_point_count;

static inline int t_vpoint(int ok, const char *prefix, const char *fmt, va_list ap)
{
	printf("%s %d - %s", ok ? "ok" : "not ok", ++t_point_count, prefix);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		t_failed_count++;
	return ok;
}

static inline int t_point(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	t_vpoint(ok, "", fmt, ap);
	va_end(ap);
	return ok;
}

#define T_CHECK(cond, ...) t_point((cond) ? 1 : 0, __VA_ARGS__)

static inline int t_under_ci(void)
{
	const char *ci = getenv("CI");
	return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* A point whose inputs are missing: skipped on a developer's machine, failed under CI. */
static inline void t_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (t_under_ci())
		t_vpoint(0, "inputs missing under CI: ", fmt, ap);
	else
		t_vpoint(1, "# SKIP ", fmt, ap);
	va_end(ap);
}

/* A point for instructions this CPU lacks: skipped everywhere, and counted as skipped. */
static inline void t_skip_cpu(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	t_vpoint(1, "# SKIP ", fmt, ap);
	va_end(ap);
}

static inline const char *t_shared_dir(void)
{
	const char *s = getenv("LMNAS_SHARED");
	return s && *s ? s : "../shared";
}

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
	printf("1..%d\n", t_point_count);
	return t_failed_count ? 1 : 0;
}
#endif
