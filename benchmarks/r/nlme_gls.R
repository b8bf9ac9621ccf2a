# nlme side of benchmarks/bench_gls.py: Rscript nlme_gls.R DATA.csv MODEL (a | b) -> one JSON line
# (a) gls(y ~ arm * factor(week), corSymm(~ 1 | id), varIdent(~ 1 | week))
# (b) lme(y ~ arm * factor(week), random = ~ 1 | id, corAR1(~ 1 | id), varIdent(~ 1 | week))
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(id = "character", arm = "character"))
t0 <- proc.time()[["elapsed"]]
m <- if (args[2] == "a") {
  gls(y ~ arm * factor(week), data = d, correlation = corSymm(form = ~ 1 | id),
      weights = varIdent(form = ~ 1 | week), method = "REML")
} else {
  lme(y ~ arm * factor(week), random = ~ 1 | id, data = d, correlation = corAR1(form = ~ 1 | id),
      weights = varIdent(form = ~ 1 | week), method = "REML")
}
secs <- proc.time()[["elapsed"]] - t0
cat(sprintf('{"seconds": %.3f, "loglik": %.10f}\n', secs, as.numeric(logLik(m))))
