# References for henderson's residual structures (issue 10): nlme fits written to nlme_fits.json,
# the data sets to CSV beside it. Run from this folder: Rscript make_nlme.R
suppressPackageStartupMessages({library(nlme); library(jsonlite)})
write_data <- function(d, file) write.csv(as.data.frame(d), file, row.names = FALSE)

orth <- as.data.frame(Orthodont); orth$Subject <- as.character(orth$Subject)
orth$occ <- match(orth$age, c(8, 10, 12, 14))
bw <- as.data.frame(BodyWeight); bw$Rat <- as.character(bw$Rat); bw$Diet <- as.character(bw$Diet)
write_data(bw, "BodyWeight.csv")
ov <- as.data.frame(Ovary); ov$Mare <- as.character(ov$Mare)
ov$s1 <- sin(2 * pi * ov$Time); ov$c1 <- cos(2 * pi * ov$Time)
write_data(ov, "Ovary.csv")
orth$w <- 1 + (seq_len(nrow(orth)) %% 3) / 2   # known precision weights (lme4's weights =)
orth$iw <- 1 / orth$w                            # nlme: varFixed(~ iw), variance proportional to 1 / w
write_data(orth, "Orthodont.csv")
# missing occasions: every 5th record of Orthodont dropped (whole subjects keep >= 2 records)
orthm <- orth[seq_len(nrow(orth)) %% 5 != 0, ]
write_data(orthm, "OrthodontMissing.csv")

corpars <- function(m) {
  cs <- m$modelStruct$corStruct
  if (is.null(cs)) return(NULL)
  as.numeric(coef(cs, unconstrained = FALSE))
}
varpars <- function(m) {
  vs <- m$modelStruct$varStruct
  if (is.null(vs)) return(NULL)
  v <- coef(vs, unconstrained = FALSE, allCoef = TRUE)
  as.list(v)
}
out <- list()
add <- function(name, m, extra = list()) {
  r <- list(logLik = as.numeric(logLik(m)), method = m$method, coef = as.list(fixef_or_coef(m)),
            sigma = m$sigma, cor = corpars(m), var = varpars(m))
  if (inherits(m, "lme")) {
    r$re_var <- as.numeric(VarCorr(m)[1, "Variance"])
  }
  out[[name]] <<- c(r, extra)
}
fixef_or_coef <- function(m) if (inherits(m, "lme")) fixef(m) else coef(m)
ctl <- lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12)
gctl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10, msTol = 1e-12)

for (meth in c("REML", "ML")) {
  m <- lme(distance ~ age * Sex, random = ~ 1 | Subject, data = orth, weights = varIdent(form = ~ 1 | Sex),
           method = meth, control = ctl)
  add(paste0("orthodont_varident_lme_", meth), m)
  m <- lme(weight ~ Time * Diet, random = ~ 1 | Rat, data = bw, correlation = corCAR1(form = ~ Time | Rat),
           method = meth, control = ctl)
  add(paste0("bodyweight_car1_lme_", meth), m)
  m <- lme(follicles ~ s1 + c1, random = ~ 1 | Mare, data = ov, correlation = corAR1(form = ~ 1 | Mare),
           method = meth, control = ctl)
  add(paste0("ovary_ar1_lme_", meth), m)
  m <- gls(distance ~ Sex * factor(age), data = orth, correlation = corSymm(form = ~ 1 | Subject),
           weights = varIdent(form = ~ 1 | age), method = meth, control = gctl)
  V <- getVarCov(m, individual = "M01")
  add(paste0("orthodont_un_gls_", meth), m, list(varcov_M01 = unclass(V)))
  m <- gls(distance ~ Sex * factor(age), data = orthm, correlation = corSymm(form = ~ occ | Subject),
           weights = varIdent(form = ~ 1 | age), method = meth, control = gctl)
  V <- getVarCov(m, individual = "M03")
  add(paste0("orthmissing_un_gls_", meth), m, list(varcov_M03 = unclass(V)))
  m <- lme(distance ~ age + Sex, random = ~ 1 | Subject, data = orthm, correlation = corAR1(form = ~ occ | Subject),
           method = meth, control = ctl)
  add(paste0("orthmissing_ar1_lme_", meth), m)
  m <- gls(distance ~ age + Sex, data = orth, correlation = corCompSymm(form = ~ 1 | Subject), method = meth,
           control = gctl)
  add(paste0("orthodont_cs_gls_", meth), m)
  m <- gls(weight ~ Time * Diet, data = bw, correlation = corCAR1(form = ~ Time | Rat), method = meth,
           control = gctl)
  add(paste0("bodyweight_car1_gls_", meth), m)
  m <- lme(distance ~ age, random = ~ 1 | Subject, data = orth, weights = varFixed(~ iw), method = meth,
           control = ctl)
  add(paste0("orthodont_weights_lme_", meth), m)
  m <- gls(distance ~ age, data = orth, correlation = corAR1(form = ~ 1 | Subject), weights = varFixed(~ iw),
           method = meth, control = gctl)
  add(paste0("orthodont_weights_ar1_gls_", meth), m)
  m <- gls(follicles ~ s1 + c1, data = ov, correlation = corAR1(form = ~ 1 | Mare), method = meth, control = gctl)
  add(paste0("ovary_ar1_gls_", meth), m)
  m <- lme(weight ~ Time * Diet, random = ~ 1 | Rat, data = bw, weights = varPower(form = ~ Time), method = meth,
           control = ctl)
  add(paste0("bodyweight_power_lme_", meth), m)
  m <- gls(distance ~ age + Sex, data = orth, weights = varExp(form = ~ age), method = meth, control = gctl)
  add(paste0("orthodont_exp_gls_", meth), m)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "nlme_fits.json")
