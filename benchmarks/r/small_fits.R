# Time lme4 on the small-model suite (benchmarks/bench_small.py writes the cases; this script fits them).
#
# Usage:
#   Rscript --vanilla benchmarks/r/small_fits.R INDEX.csv REPEAT OUT.csv
# INDEX.csv: columns name, file, formula, factors (comma-separated columns read as character and
# converted with factor(); LC_ALL=C, so levels sort like Python's sorted()).
# For each case, in this one warm R process (each call made once untimed first), the median over
# REPEAT calls of the elapsed seconds of:
#   lmer         lme4::lmer(formula, data)                                   (default lmerControl)
#   lme4_summary lme4::lmer + summary(m) + ranef(m, condVar = TRUE)          (summary-level quantities)
#   lmerTest     lmerTest::lmer + summary(m) (Satterthwaite df, p-values) + ranef(m, condVar = TRUE)
# plus the REML criterion and bobyqa/nloptwrap function evaluations of the lmer fit. Data are read
# before timing (as henderson's are). Warnings and messages (singular fits) are suppressed.

invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) {
  cat("usage: Rscript small_fits.R INDEX.csv REPEAT OUT.csv\n", file = stderr())
  quit(status = 2)
}
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
idx <- read.csv(args[1], stringsAsFactors = FALSE, colClasses = "character")
n_repeat <- as.integer(args[2])
folder <- dirname(normalizePath(args[1]))

read_case <- function(file, factors) {
  cols <- if (nzchar(factors)) strsplit(factors, ",", fixed = TRUE)[[1]] else character()
  cc <- if (length(cols)) setNames(rep("character", length(cols)), cols) else NA
  d <- read.csv(file.path(folder, file), colClasses = cc, stringsAsFactors = FALSE)
  for (f in cols) d[[f]] <- factor(d[[f]])
  d
}

quiet <- function(expr) suppressWarnings(suppressMessages(expr))

median_seconds <- function(f) {
  f()
  t <- numeric(n_repeat)
  for (i in seq_len(n_repeat)) {
    t0 <- Sys.time()
    f()
    t[i] <- as.numeric(Sys.time() - t0, units = "secs")
  }
  median(t)
}

rows <- vector("list", nrow(idx))
for (k in seq_len(nrow(idx))) {
  d <- read_case(idx$file[k], idx$factors[k])
  fo <- as.formula(idx$formula[k])
  m <- quiet(lme4::lmer(fo, data = d))
  t_lmer <- median_seconds(function() quiet(lme4::lmer(fo, data = d)))
  t_summary <- median_seconds(function() quiet({
    m <- lme4::lmer(fo, data = d)
    s <- summary(m)
    re <- ranef(m, condVar = TRUE)
  }))
  t_test <- median_seconds(function() quiet({
    m <- lmerTest::lmer(fo, data = d)
    s <- summary(m)
    re <- ranef(m, condVar = TRUE)
  }))
  rows[[k]] <- data.frame(name = idx$name[k], lmer = t_lmer, lme4_summary = t_summary, lmerTest = t_test,
                          REMLcrit = REMLcrit(m), feval = m@optinfo$feval, singular = isSingular(m))
}
out <- do.call(rbind, rows)
out$lme4_version <- as.character(packageVersion("lme4"))
out$lmerTest_version <- as.character(packageVersion("lmerTest"))
out$openblas_threads <- Sys.getenv("OPENBLAS_NUM_THREADS", "default")
write.csv(out, args[3], row.names = FALSE)
