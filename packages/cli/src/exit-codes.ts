/**
 * EX_DATAERR (sysexits.h): some of the input was bad. A command that reads many lines or rows answers
 * or sends all the others first, names each bad one (by line) as it goes, and ends with this code and a
 * summary on stderr, so a script sees that something was left out. 0 means every line was taken.
 */
export const EXIT_DATA_ERROR = 65

/**
 * EX_SOFTWARE (sysexits.h): the program itself went wrong, not its input: the scorer gave a result that
 * breaks the ScoredHeadline contract. A bug to report, where 65 asks the user to fix the input.
 */
export const EXIT_SOFTWARE = 70
