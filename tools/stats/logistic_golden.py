# Goldens for tests/core/test_stats.cpp: scikit-learn LogisticRegression / StandardScaler / roc_auc_score on a
# fixed 12-row dataset. Run: ~/.cache/difr/conformance-venv/bin/pip install scikit-learn==1.9.1 &&
#   ~/.cache/difr/conformance-venv/bin/python tools/stats/logistic_golden.py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import roc_auc_score
X = np.array([[0.00,0.91,1.00],[0.05,0.80,0.90],[0.10,0.75,0.80],[0.02,0.95,1.00],[0.30,0.60,0.70],[0.12,0.70,0.85],
              [0.25,0.50,0.60],[0.40,0.45,0.50],[0.08,0.85,0.95],[0.35,0.40,0.55],[0.20,0.65,0.75],[0.45,0.30,0.40]])
y = np.array([0,0,0,0,1,0,1,1,0,1,1,1])
Z = StandardScaler().fit_transform(X)
for C in (1.0, 0.1):
    m = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(Z, y)
    print("C", C, "intercept %.12f" % m.intercept_[0], "coef", " ".join("%.12f" % c for c in m.coef_[0]))
s = StandardScaler().fit(X); print("mean", s.mean_.tolist(), "scale", s.scale_.tolist())
print("auc", roc_auc_score([0,0,0,1,1,1,1],[0.1,0.4,0.4,0.4,0.8,0.1,0.9]))
