# A first lme4 fit in a new R process, by phase; prints one line of JSON (benchmarks/bench_firstfit.py).
#
# Usage:
#   Rscript --vanilla benchmarks/r/firstfit.R DATA.csv[.gz] "FORMULA" factorcols
# Phases (elapsed seconds, Sys.time): library = library(lme4); read = read.csv + factor();
# fit = lme4::lmer(formula, data) with lme4's default control (REML); result = summary(m) +
# ranef(m, condVar = TRUE). Set OPENBLAS_NUM_THREADS to choose R's BLAS threads (reported).

t_start <- Sys.time()
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) {
  cat("usage: Rscript firstfit.R DATA.csv[.gz] \"FORMULA\" factorcols\n", file = stderr())
  quit(status = 2)
}
since <- function(t) as.numeric(Sys.time() - t, units = "secs")

t <- Sys.time()
suppressPackageStartupMessages(library(lme4))
t_library <- since(t)

t <- Sys.time()
factors <- trimws(strsplit(args[3], ",", fixed = TRUE)[[1]])
d <- read.csv(args[1], colClasses = setNames(rep("character", length(factors)), factors))
for (f in factors) d[[f]] <- factor(d[[f]])
t_read <- since(t)

t <- Sys.time()
m <- lmer(as.formula(args[2]), data = d)
t_fit <- since(t)

t <- Sys.time()
s <- summary(m)
re <- ranef(m, condVar = TRUE)
t_result <- since(t)

num <- function(x) sprintf("%.6f", x)
fields <- c(library = num(t_library), read = num(t_read), fit = num(t_fit), result = num(t_result),
            in_process = num(since(t_start)), deviance = sprintf("%.10f", REMLcrit(m)),
            feval = as.character(m@optinfo$feval),
            lme4_version = paste0("\"", as.character(packageVersion("lme4")), "\""),
            openblas_threads = paste0("\"", Sys.getenv("OPENBLAS_NUM_THREADS", "default"), "\""))
cat("{", paste0("\"", names(fields), "\": ", fields, collapse = ", "), "}\n", sep = "")
