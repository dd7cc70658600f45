// Gate saturation thresholds of Karpathy et al. (2015), Fig. 3, as app/cells/scan.py counts them.

export const LEFT_SAT = 0.1; // below: the gate is closed ("left-saturated")
export const RIGHT_SAT = 0.9; // above: open ("right-saturated")
